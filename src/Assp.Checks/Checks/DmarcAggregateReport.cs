using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;

namespace Assp.Checks.Checks;

/// <summary>
/// An RFC 7489 aggregate report (Appendix C schema) for one policy domain: the rows are grouped into records by
/// source IP, header From, disposition, the aligned DKIM/SPF results and the raw results, each with its count;
/// the mail carries the XML gzip-compressed with the file name and subject of section 7.2.1.1.
/// </summary>
public sealed class DmarcAggregateReport(string orgName, string email, string policyDomain, IReadOnlyList<DmarcReportRow> rows,
    DateTimeOffset begin, DateTimeOffset end)
{
    public string OrgName { get; } = orgName;
    public string PolicyDomain { get; } = policyDomain;
    public long Begin { get; } = begin.ToUnixTimeSeconds();
    public long End { get; } = end.ToUnixTimeSeconds();
    public string ReportId { get; } = $"{policyDomain}.{begin.ToUnixTimeSeconds()}.{end.ToUnixTimeSeconds()}";

    public XDocument ToXml()
    {
        var last = rows[^1];   // the record as most recently seen
        var records = rows
            .GroupBy(r => (r.SourceIp, r.HeaderFrom, r.EnvelopeTo, r.Disposition, r.DkimAligned, r.SpfAligned, r.SpfDomain, r.SpfResult, r.SampledOut,
                Dkim: string.Join(',', r.Dkim.Select(d => d.Domain + ":" + d.Result))))
            .Select(g =>
            {
                var first = g.First();
                var evaluated = new XElement("policy_evaluated",
                    new XElement("disposition", first.Disposition),
                    new XElement("dkim", first.DkimAligned),
                    new XElement("spf", first.SpfAligned));
                if (first.SampledOut) evaluated.Add(new XElement("reason", new XElement("type", "sampled_out")));
                var identifiers = new XElement("identifiers");
                if (first.EnvelopeTo.Length > 0) identifiers.Add(new XElement("envelope_to", first.EnvelopeTo));
                identifiers.Add(new XElement("header_from", first.HeaderFrom));
                var auth = new XElement("auth_results",
                    first.Dkim.Select(d => new XElement("dkim", new XElement("domain", d.Domain), new XElement("result", d.Result))),
                    new XElement("spf", new XElement("domain", first.SpfDomain.Length > 0 ? first.SpfDomain : first.HeaderFrom),
                        new XElement("result", first.SpfResult)));
                return new XElement("record",
                    new XElement("row", new XElement("source_ip", first.SourceIp), new XElement("count", g.Count()), evaluated),
                    identifiers, auth);
            });
        return new XDocument(new XDeclaration("1.0", "UTF-8", null),
            new XElement("feedback",
                new XElement("report_metadata",
                    new XElement("org_name", OrgName),
                    new XElement("email", email),
                    new XElement("report_id", ReportId),
                    new XElement("date_range", new XElement("begin", Begin), new XElement("end", End))),
                new XElement("policy_published",
                    new XElement("domain", PolicyDomain),
                    new XElement("adkim", last.Adkim),
                    new XElement("aspf", last.Aspf),
                    new XElement("p", last.Policy),
                    new XElement("sp", last.SubdomainPolicy),
                    new XElement("pct", last.Percent)),
                records));
    }

    /// <summary>receiver!policy-domain!begin!end.xml.gz (7.2.1.1).</summary>
    public string FileName => $"{OrgName}!{PolicyDomain}!{Begin}!{End}.xml.gz";

    public byte[] Compressed()
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        using (var writer = new StreamWriter(gzip, new UTF8Encoding(false)))
            ToXml().Save(writer, SaveOptions.None);
        return buffer.ToArray();
    }

    /// <summary>The report mail (multipart/mixed, the gzip as a base64 attachment), CRLF lines.</summary>
    public byte[] ToMessage(string from, IReadOnlyList<string> to, DateTimeOffset date)
    {
        var boundary = "=_dmarc_" + Guid.NewGuid().ToString("N");
        var sb = new StringBuilder();
        void Line(string s) => sb.Append(s).Append("\r\n");
        Line($"From: {from}");
        Line($"To: {string.Join(", ", to)}");
        Line($"Subject: Report Domain: {PolicyDomain} Submitter: {OrgName} Report-ID: <{ReportId}>");
        Line($"Date: {date.ToString("ddd, dd MMM yyyy HH:mm:ss +0000", CultureInfo.InvariantCulture)}");
        Line($"Message-ID: <{ReportId}.{Guid.NewGuid():N}@{OrgName}>");
        Line("MIME-Version: 1.0");
        Line($"Content-Type: multipart/mixed; boundary=\"{boundary}\"");
        Line("");
        Line($"--{boundary}");
        Line("Content-Type: text/plain; charset=us-ascii");
        Line("");
        Line($"This is a DMARC aggregate report for {PolicyDomain} from {OrgName}.");
        Line("");
        Line($"--{boundary}");
        Line($"Content-Type: application/gzip; name=\"{FileName}\"");
        Line("Content-Transfer-Encoding: base64");
        Line($"Content-Disposition: attachment; filename=\"{FileName}\"");
        Line("");
        var b64 = Convert.ToBase64String(Compressed());
        for (int i = 0; i < b64.Length; i += 76) Line(b64.Substring(i, Math.Min(76, b64.Length - i)));
        Line($"--{boundary}--");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}
