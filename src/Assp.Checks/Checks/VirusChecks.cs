using System.Diagnostics;
using System.Globalization;
using System.Text;
using Assp.Checks.Decision;
using Assp.Checks.Virus;
using Assp.Config;

namespace Assp.Checks.Checks;

/// <summary>What the virus scanners share: who is scanned (haveToScan), how much, the suspicious-name scoring and the refusal.</summary>
public static class VirusScanning
{
    /// <summary>
    /// ASSP's haveToScan: whitelisted mail only with ScanWL, noprocessing with ScanNP, local/outgoing with ScanLocal;
    /// never for noScan addresses (sender or a recipient), noScanIP, or NoScanRe on the IP, HELO or sender.
    /// </summary>
    public static bool HaveToScan(CheckContext c) =>
        HaveToScan(c.Config, c.State, c.Mail.MailFrom, c.Mail.Recipients, c.Mail.RemoteAddress, c.Mail.Helo);

    /// <summary>The same decision outside a check (e.g. ScanCC for the copies a session sends).</summary>
    public static bool HaveToScan(Assp.Config.ConfigSnapshot cfg, MessageState st, string? mailFrom, IReadOnlyList<string> recipients,
        System.Net.IPAddress remote, string? helo)
    {
        if (st.Transparent) return false;
        if (st.IsWhitelisted && !cfg.GetBool("ScanWL")) return false;
        if (st.IsNoProcessing && !cfg.GetBool("ScanNP")) return false;
        if (st.RelayOk && !cfg.GetBool("ScanLocal")) return false;
        var noScan = cfg.GetAddressList("noScan");
        if (noScan.Count > 0 && (noScan.Contains(mailFrom ?? "") || recipients.Any(noScan.Contains))) return false;
        if (cfg.GetIpList("noScanIP").Contains(remote)) return false;
        var re = cfg.GetRegex("NoScanRe");
        return re.Count == 0 || (re.Match(remote.ToString()) is null && re.Match(helo) is null && re.Match(mailFrom) is null);
    }

    /// <summary>The start of the message the scanners get: the header plus ClamAVBytes of body (50000 when unset), at most 100000 of body.</summary>
    public static async Task<byte[]?> ReadAsync(CheckContext c, CancellationToken ct)
    {
        await using var stream = c.Mail.OpenMessage();
        if (stream is null) return null;
        long bodyBytes = c.Config.GetLong("ClamAVBytes");
        if (bodyBytes <= 0) bodyBytes = 50000;
        bodyBytes = Math.Min(bodyBytes, 100000);
        long header = c.State.Parsed is { } msg ? msg.Root.RawHeaders.Length + 4 : 0;
        var limit = (int)Math.Min(int.MaxValue, header + bodyBytes);
        // The known size keeps a small message's buffer small; an unknown size (0) reads up to the limit.
        var buffer = new byte[c.Mail.MessageSize > 0 ? Math.Min(limit, c.Mail.MessageSize + 1) : limit];
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(total), ct).ConfigureAwait(false);
            if (n == 0) break;
            total += n;
        }
        return total == buffer.Length ? buffer : buffer[..total];
    }

    /// <summary>NoScanRe on the message content: a match skips the scan.</summary>
    public static string? NoScanContent(ConfigSnapshot cfg, byte[] data)
    {
        var re = cfg.GetRegex("NoScanRe");
        return re.Count == 0 ? null : re.Match(Encoding.Latin1.GetString(data));
    }

    public static string MessageKind(MessageState st) =>
        st.RelayOk ? "local message" : st.IsNoProcessing ? "noprocessing message" : st.IsWhitelisted ? "whitelisted message" : "message";

    /// <summary>
    /// SuspiciousVirus: a virus name matching it is only scored (vsValencePB weighted, message score only) and passes.
    /// Returns true when the name was suspicious only.
    /// </summary>
    public static bool Suspicious(CheckContext c, string scanner, string virus)
    {
        var cfg = c.Config;
        var list = cfg.GetWeightedRegex("SuspiciousVirus");
        if (list.Count == 0) return false;
        var hits = list.Matches(virus);
        if (hits.Count == 0) return false;
        var hit = hits[0];
        var (m, _) = DecisionEngine.WeightedScore(cfg, "vsValencePB", hit.Weight);
        var reason = $"SuspiciousVirus: {virus} '{hit.MatchedText}'";
        c.Engine.AddPenalty(cfg, c.State, c.Ip, m, 0, reason, 1, c.Log, "vsValencePB");
        c.State.Prepend.Clear().Append("[VIRUS][scoring]");
        c.State.Reports.Add(new CheckReport(scanner, "score", m, reason));
        if (cfg.GetChoice("ScanLog") >= 1) c.Log($"'{virus}' passing the virus check because of only suspicious virus '{hit.MatchedText}'");
        return true;
    }

    /// <summary>An infected mail: vdValencePB, AvError with $infection, collected by SpamVirusLog (no test mode, no lovers).</summary>
    public static Verdict Infected(CheckContext c, CheckDefinition check, string virus, string reason)
    {
        var cfg = c.Config;
        var reply = System.Text.RegularExpressions.Regex.Replace(cfg["AvError"], @"\$infection", virus.Replace("$", "$$", StringComparison.Ordinal),
            System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        bool spamBefore = c.State.SpamFound;
        var verdict = c.Engine.Hit(check, cfg, c.State, c.Ip, reason, c.Log, reply: reply);
        if (verdict.Refuses || c.State.SpamFound) c.State.Prepend.Clear().Append("[VIRUS]");
        VirusReports.Send(c, virus, spamBefore);
        return verdict;
    }
}

/// <summary>
/// UseAvClamd: the message (header plus ClamAVBytes) is streamed to clamd (AvClamdPort, round robin, ClamAVtimeout).
/// A virus refuses the mail with AvError and vdValencePB; a name matching SuspiciousVirus is only scored
/// (vsValencePB). When no clamd answers, the mail passes and the maillog says so (ASSP's behaviour).
/// </summary>
public sealed class ClamAvCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("UseAvClamd", "[VIRUS]", "vdValencePB", CollectOption: "SpamVirusLog",
        ReplyOption: "AvError", RunsOnOutgoing: true);

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 500;

    /// <summary>The client for this configuration (one per snapshot: its round robin survives between mails), or null with the reason.</summary>
    public static (ClamdClient? Client, string? Problem) Client(ConfigSnapshot cfg) =>
        cfg.Derived("Checks.Clamd", c =>
        {
            try
            {
                var endpoints = ClamdEndpoint.ParseList(c["AvClamdPort"]);
                if (endpoints.Count == 0) return new ClientHolder(null, "AvClamdPort is empty");
                var seconds = c.GetInt("ClamAVtimeout", 30);
                return new ClientHolder(new ClamdClient(endpoints, seconds > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero), null);
            }
            catch (FormatException ex) { return new ClientHolder(null, ex.Message); }
        }) is var h ? (h.Client, h.Problem) : default;

    private sealed record ClientHolder(ClamdClient? Client, string? Problem);

    private static int _available = 1;

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        if (!cfg.GetBool("UseAvClamd") || !VirusScanning.HaveToScan(c)) return Verdict.Pass;
        var (client, problem) = Client(cfg);
        int scanLog = cfg.GetChoice("ScanLog");
        if (client is null)
        {
            c.Log($"ClamAV: not scanned - {problem}");
            return Verdict.Pass;
        }
        if (AfcVirusScan.On(cfg))
            return await AfcVirusScan.RunAsync(c, Check, Check.Name, async (part, name, ct) =>
            {
                var r = await client.ScanAsync(part, ct).ConfigureAwait(false);
                if (r.Status == ClamdStatus.Unavailable)
                {
                    if (Interlocked.Exchange(ref _available, 0) == 1 && scanLog >= 1) c.Log("ClamAv Down");
                    c.Log($"ClamAV: streamscan failed - {r.Detail} - message passes unscanned");
                    return null;
                }
                if (Interlocked.Exchange(ref _available, 1) == 0 && scanLog >= 1) c.Log("ClamAv Up");
                if ((r.Status != ClamdStatus.Clean && scanLog >= 1) || scanLog >= 2)
                    c.Log($"ClamAV: scanned {part.Length} bytes of '{name}' in {VirusScanning.MessageKind(c.State)} - {r.Detail}");
                if (r.Status == ClamdStatus.Error)
                {
                    c.Log($"ClamAv Temporary Off : {r.Detail}");
                    return null;
                }
                return new AfcVirusScan.PartResult(r.Status == ClamdStatus.Infected, r.Virus);
            }, cancellationToken).ConfigureAwait(false);
        var data = await VirusScanning.ReadAsync(c, cancellationToken).ConfigureAwait(false);
        if (data is null) return Verdict.Pass;
        if (VirusScanning.NoScanContent(cfg, data) is { } skip)
        {
            RegexMatchNote.Record(c.Mail, "NoScanRe", skip, "no virus scan");
            return Verdict.Pass;
        }

        var result = await client.ScanAsync(data, cancellationToken).ConfigureAwait(false);
        if (result.Status == ClamdStatus.Unavailable)
        {
            if (Interlocked.Exchange(ref _available, 0) == 1 && scanLog >= 1) c.Log("ClamAv Down");
            c.Log($"ClamAV: streamscan failed - {result.Detail} - message passes unscanned");
            return Verdict.Pass;
        }
        if (Interlocked.Exchange(ref _available, 1) == 0 && scanLog >= 1) c.Log("ClamAv Up");
        if ((result.Status != ClamdStatus.Clean && scanLog >= 1) || scanLog >= 2)
            c.Log($"ClamAV: scanned {data.Length} bytes in {VirusScanning.MessageKind(c.State)} - {result.Detail}");
        if (result.Status == ClamdStatus.Error)
        {
            c.Log($"ClamAv Temporary Off : {result.Detail}");
            return Verdict.Pass;
        }
        if (result.Status != ClamdStatus.Infected) return Verdict.Pass;
        var virus = result.Virus ?? "a virus";
        if (VirusScanning.Suspicious(c, Check.Name, virus)) return Verdict.Pass;
        return VirusScanning.Infected(c, Check, virus, $"virus detected: '{virus}'");
    }
}

/// <summary>
/// DoFileScan (1 block, 2 monitor): the message is written to FileScanDir and FileScanCMD is run on it (FILENAME,
/// NUMBER, FILESCANDIR and *variable* substituted, stderr into stdout). Infected when FileScanBad matches the
/// output, or FileScanGood is set and does not match, or the file is gone afterwards (an on-access scanner removed
/// it); NORUN[-ms] only waits and looks for the file. FileScanRespRe's match names the virus.
/// </summary>
public sealed class FileScanCheck : IMessageCheck
{
    public static readonly CheckDefinition Check = new("DoFileScan", "[VIRUS]", "vdValencePB", CollectOption: "SpamVirusLog",
        ReplyOption: "AvError", RunsOnOutgoing: true);

    /// <summary>A scanner that hangs is killed after this (ASSP waits for the command without a limit).</summary>
    public static readonly TimeSpan CommandLimit = TimeSpan.FromMinutes(2);

    private static int _number;

    public CheckDefinition Definition => Check;
    public SmtpPhase Phase => SmtpPhase.DataBody;
    public int Order => 510;

    public async ValueTask<Verdict> RunAsync(CheckContext c, CancellationToken cancellationToken)
    {
        var cfg = c.Config;
        var command = cfg["FileScanCMD"].Trim();
        if (!CheckHelpers.Enabled(c, Check) || command.Length == 0 || !VirusScanning.HaveToScan(c)) return Verdict.Pass;
        int scanLog = cfg.GetChoice("ScanLog");
        if (AfcVirusScan.On(cfg))
            return await AfcVirusScan.RunAsync(c, Check, Check.Name, async (part, name, ct) =>
            {
                if (await ScanAsync(cfg, part, (line, file, number, dir) => Substitute(line, file, number, dir, c), c.Log, ct).ConfigureAwait(false)
                    is not { } r) return null;
                if ((r.Failed && scanLog >= 1) || scanLog >= 2)
                    c.Log($"FileScan: scanned {part.Length} bytes of '{name}' in {VirusScanning.MessageKind(c.State)}{(r.Failed ? " - " + r.Output : " - OK")}");
                return new AfcVirusScan.PartResult(r.Failed, r.Failed ? cfg.GetRegex("FileScanRespRe").Match(r.Output) ?? "FileScan" : null);
            }, cancellationToken).ConfigureAwait(false);
        var data = await VirusScanning.ReadAsync(c, cancellationToken).ConfigureAwait(false);
        if (data is null) return Verdict.Pass;
        if (VirusScanning.NoScanContent(cfg, data) is { } skip)
        {
            RegexMatchNote.Record(c.Mail, "NoScanRe", skip, "no virus scan");
            return Verdict.Pass;
        }
        if (await ScanAsync(cfg, data, (line, file, number, dir) => Substitute(line, file, number, dir, c), c.Log, cancellationToken).ConfigureAwait(false)
            is not { } scan) return Verdict.Pass;
        var (failed, output) = scan;
        if ((failed && scanLog >= 1) || scanLog >= 2)
            c.Log($"FileScan: scanned {data.Length} bytes in {VirusScanning.MessageKind(c.State)}{(failed ? " - " + output : " - OK")}");
        if (!failed) return Verdict.Pass;
        var named = cfg.GetRegex("FileScanRespRe").Match(output);
        if (named is not null && VirusScanning.Suspicious(c, Check.Name, named)) return Verdict.Pass;
        return VirusScanning.Infected(c, Check, named ?? "a virus", $"virus detected: 'FileScan' - {output}");
    }

    /// <summary>
    /// Writes the bytes to FileScanDir, runs FileScanCMD on them and judges the output (FileScanBad/FileScanGood, a
    /// vanished file). Null when the scan could not be done (the mail passes, as in ASSP); otherwise whether it
    /// failed and the scanner's output. Shared by the DATA check and the scans of stored files.
    /// </summary>
    internal static async Task<(bool Failed, string Output)?> ScanAsync(ConfigSnapshot cfg, byte[] data,
        Func<string, string, int, string, string> substitute, Action<string> log, CancellationToken cancellationToken)
    {
        var command = cfg["FileScanCMD"].Trim();
        int scanLog = cfg.GetChoice("ScanLog");
        var dir = ResolveDir(cfg);
        int number = Interlocked.Increment(ref _number);
        string file;
        try
        {
            Directory.CreateDirectory(dir);
            file = Path.Combine(dir, $"a.{number.ToString(CultureInfo.InvariantCulture)}.{Random.Shared.Next(100000).ToString(CultureInfo.InvariantCulture)}{cfg["maillogExt"]}");
            await File.WriteAllBytesAsync(file, data, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log($"FileScan: cannot write the temporary file in '{dir}' - {ex.Message} - message passes unscanned");
            return null;
        }

        string output = "";
        bool failed = false;
        try
        {
            var norun = System.Text.RegularExpressions.Regex.Match(command, @"^\s*NORUN(?:\s*-\s*(\d+))?", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
            if (norun.Success && norun.Groups[1].Success && int.TryParse(norun.Groups[1].Value, CultureInfo.InvariantCulture, out var wait))
                await Task.Delay(Math.Min(wait, 60000), cancellationToken).ConfigureAwait(false);
            if (!File.Exists(file))
            {
                output = "unable to find file to scan";
                failed = true;
                if (scanLog >= 2) log($"FileScan: is unable find temporary {file} - possibly removed by the file system scanner");
            }
            else if (!norun.Success)
            {
                var line = substitute(command, file, number, dir);
                if (scanLog >= 3) log($"diagnostic: FileScan will run command - {line}");
                if (await RunCommandAsync(line, cancellationToken).ConfigureAwait(false) is not { } raw)
                {
                    log($"FileScan: the command did not finish within {CommandLimit.TotalSeconds:0} seconds and was stopped - message passes unscanned");
                    return null;
                }
                output = raw.Replace("\r", "", StringComparison.Ordinal).Replace('\n', ' ').Replace('\t', ' ');
                if (scanLog >= 3) log($"diagnostic: FileScan returned {output}");
                var bad = cfg.GetRegex("FileScanBad");
                var good = cfg.GetRegex("FileScanGood");
                failed = (bad.Count > 0 && bad.IsMatch(output)) || (good.Count > 0 && !good.IsMatch(output));
                if (!File.Exists(file)) { failed = true; output = output.Length > 0 ? output : "unable to find file to scan"; }
            }
        }
        finally
        {
            try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return (failed, output);
    }

    private static string ResolveDir(ConfigSnapshot cfg)
    {
        var dir = cfg["FileScanDir"].Trim();
        if (dir.Length == 0) dir = "virusscan";
        return Path.IsPathRooted(dir) ? dir : Path.Combine(cfg.BaseDirectory, dir);
    }

    /// <summary>The substitution for a stored file: no session, so every *name* is empty.</summary>
    internal static string SubstituteFile(string command, string file, int number, string dir) =>
        Substitute(command, file, number, dir, null);

    /// <summary>FILENAME, NUMBER, FILESCANDIR and *name* (a session value: ip, helo, mailfrom, rcpt, SessionID) in the command.</summary>
    internal static string Substitute(string command, string file, int number, string dir, CheckContext? c)
    {
        static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) ? $"'{s}'" : s;
        var line = command.Replace("FILENAME", Quote(file), StringComparison.Ordinal)
            .Replace("NUMBER", number.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("FILESCANDIR", Quote(dir), StringComparison.Ordinal);
        return System.Text.RegularExpressions.Regex.Replace(line, @"\*([A-Za-z0-9_\-]+)\*", m => "'" + (c is null ? "" : m.Groups[1].Value switch
        {
            "ip" => c.Mail.RemoteAddress.ToString(),
            "helo" => c.Mail.Helo ?? "",
            "mailfrom" => c.Mail.MailFrom ?? "",
            "rcpt" => string.Join(' ', c.Mail.Recipients),
            "SessionID" => c.Mail.SessionId,
            _ => "",
        }).Replace("'", "", StringComparison.Ordinal) + "'");
    }

    /// <summary>The command's output, or null when it ran over <see cref="CommandLimit"/> (it is killed).</summary>
    private static async Task<string?> RunCommandAsync(string line, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = false, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(line + " 2>&1");
        using var process = Process.Start(psi) ?? throw new IOException("the scanner could not be started");
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(CommandLimit);
        try
        {
            var output = await process.StandardOutput.ReadToEndAsync(limit.Token).ConfigureAwait(false);
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
            return output;
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            if (ct.IsCancellationRequested) throw;
            return null;
        }
    }
}
