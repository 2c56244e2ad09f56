using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Assp.Checks.Checks;

/// <summary>
/// Makes an S/MIME (RFC 5751) multipart/signed message: the Content-* header fields and the body become the signed
/// first part, a detached CMS SignedData (SHA-256, signing time, the signer's certificate) the application/pkcs7-signature
/// second part; the other header fields stay outside. The message must be 7-bit with CRLF line ends (the caller checks).
/// </summary>
public static class SmimeSigner
{
    /// <summary>The detached CMS signature of <paramref name="content"/>.</summary>
    public static byte[] Signature(X509Certificate2 certificate, byte[] content, DateTimeOffset now)
    {
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        var signer = new CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, certificate)
        {
            DigestAlgorithm = new Oid("2.16.840.1.101.3.4.2.1"),
            IncludeOption = X509IncludeOption.EndCertOnly,
        };
        signer.SignedAttributes.Add(new Pkcs9SigningTime(now.UtcDateTime));
        cms.ComputeSignature(signer, silent: true);
        return cms.Encode();
    }

    /// <summary>The message signed; <paramref name="header"/> is the header block (each field ending in CRLF, no
    /// blank line), <paramref name="body"/> everything after the blank line.</summary>
    public static byte[] Sign(X509Certificate2 certificate, string header, string body, DateTimeOffset now)
    {
        var outer = new StringBuilder();
        var inner = new StringBuilder();
        foreach (var field in Fields(header))
        {
            if (field.StartsWith("Content-", StringComparison.OrdinalIgnoreCase)) inner.Append(field);
            else if (!field.StartsWith("MIME-Version:", StringComparison.OrdinalIgnoreCase)) outer.Append(field);
        }
        if (inner.Length == 0) inner.Append("Content-Type: text/plain; charset=us-ascii\r\n");
        inner.Append("\r\n").Append(body);
        // The signed part ends with its last line end; the CRLF before the boundary belongs to the boundary.
        if (!body.EndsWith("\r\n", StringComparison.Ordinal)) inner.Append("\r\n");
        var content = Encoding.ASCII.GetBytes(inner.ToString());
        var signature = Convert.ToBase64String(Signature(certificate, content, now), Base64FormattingOptions.InsertLineBreaks);
        var boundary = "----assp-smime-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
        outer.Append("MIME-Version: 1.0\r\n")
            .Append($"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n\tboundary=\"{boundary}\"\r\n")
            .Append("\r\nThis is an S/MIME signed message\r\n\r\n")
            .Append("--").Append(boundary).Append("\r\n")
            .Append(Encoding.ASCII.GetString(content))
            .Append("\r\n--").Append(boundary).Append("\r\n")
            .Append("Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n")
            .Append("Content-Disposition: attachment; filename=\"smime.p7s\"\r\nContent-Description: S/MIME Cryptographic Signature\r\n\r\n")
            .Append(signature).Append("\r\n--").Append(boundary).Append("--\r\n");
        return Encoding.ASCII.GetBytes(outer.ToString());
    }

    /// <summary>The header block split into whole fields (with their folded lines and line ends).</summary>
    public static IEnumerable<string> Fields(string header)
    {
        var current = new StringBuilder();
        foreach (var line in header.Split("\r\n"))
        {
            if (line.Length == 0) continue;
            if (line[0] is ' ' or '\t' && current.Length > 0) { current.Append(line).Append("\r\n"); continue; }
            if (current.Length > 0) yield return current.ToString();
            current.Clear().Append(line).Append("\r\n");
        }
        if (current.Length > 0) yield return current.ToString();
    }
}
