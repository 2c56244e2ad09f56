using System.Text;
using Assp.Checks.Checks;
using Assp.Checks.Collection;
using Assp.Config;

namespace Assp.Checks.Virus;

/// <summary>
/// Virus scans of mail outside the SMTP transaction: collected files before they are kept (ClamAVLogScan /
/// FileLogScan = 2, an infected file goes to the viruslog folder) and copies of mail before they are forwarded
/// (ScanCC). The scanners are the ones the DATA checks use (clamd over AvClamdPort, FileScanCMD); a name matching
/// SuspiciousVirus does not count as infected, and a scanner that cannot be reached lets the file pass, as in ASSP.
/// </summary>
public static class StoredMailScanner
{
    /// <summary>The choice of ClamAVLogScan/FileLogScan that includes the collected files.</summary>
    public const int ScanCollectedFiles = 2;

    /// <summary>ClamAV scans collected files: UseAvClamd with ClamAVLogScan = 2.</summary>
    public static bool ClamAvScansCollected(ConfigSnapshot cfg) =>
        cfg.GetBool("UseAvClamd") && cfg.GetChoice("ClamAVLogScan") >= ScanCollectedFiles;

    /// <summary>The file scanner scans collected files: DoFileScan on, FileScanCMD set and FileLogScan = 2.</summary>
    public static bool FileScanScansCollected(ConfigSnapshot cfg) =>
        cfg.GetChoice("DoFileScan") != 0 && cfg["FileScanCMD"].Trim().Length > 0 && cfg.GetChoice("FileLogScan") >= ScanCollectedFiles;

    /// <summary>
    /// Whether a file collected into <paramref name="folderOption"/> is to be scanned: a scanner is set up for
    /// collected files, viruslog names a folder to move infected files to, and the file is not already going there.
    /// </summary>
    public static bool ScansCollected(ConfigSnapshot cfg, string folderOption) =>
        (ClamAvScansCollected(cfg) || FileScanScansCollected(cfg))
        && cfg["viruslog"].Trim().Length > 0
        && !string.Equals(folderOption, "viruslog", StringComparison.Ordinal);

    /// <summary>How much of a stored file is scanned: the larger of MaxBytes and ClamAVBytes past the header, at least 100000 bytes.</summary>
    public static int CollectedScanBytes(ConfigSnapshot cfg, int headerLength)
    {
        long maxBytes = Math.Max(0, cfg.GetLong("MaxBytes", 4000));
        long clamBytes = Math.Max(0, cfg.GetLong("ClamAVBytes", 60000));
        return (int)Math.Min(int.MaxValue, Math.Max(Math.Max(maxBytes, clamBytes) + headerLength, 100_000));
    }

    /// <summary>
    /// Scans a collected file (its start, <see cref="CollectedScanBytes"/>) with the scanners ClamAVLogScan and
    /// FileLogScan select; returns the virus name, or null when it is clean or could not be scanned.
    /// </summary>
    public static async Task<string?> ScanCollectedFileAsync(ConfigSnapshot cfg, string path, Action<string> log, CancellationToken ct)
    {
        byte[] data;
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 65536, FileOptions.Asynchronous))
        {
            var head = new byte[Math.Min(64 * 1024, (int)Math.Min(int.MaxValue, stream.Length))];
            int n = await stream.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            int end = head.AsSpan(0, n).IndexOf("\r\n\r\n"u8);
            int limit = CollectedScanBytes(cfg, end < 0 ? 10000 : end + 4);
            data = new byte[(int)Math.Min(limit, stream.Length)];
            head.AsSpan(0, Math.Min(n, data.Length)).CopyTo(data);
            int have = Math.Min(n, data.Length);
            if (have < data.Length) have += await stream.ReadAtLeastAsync(data.AsMemory(have), data.Length - have, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            if (have < data.Length) data = data[..have];
        }
        return await FindVirusAsync(cfg, data, ClamAvScansCollected(cfg), FileScanScansCollected(cfg), log, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves an infected collected file into the viruslog folder under the same name; returns the new path, or
    /// null when it could not be moved (the caller keeps it where it was and logs).
    /// </summary>
    public static string? MoveToVirusFolder(ConfigSnapshot cfg, string path)
    {
        var folder = CorpusFolders.Resolve(cfg, "viruslog");
        if (folder is null) return null;
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, Path.GetFileName(path));
        File.Move(path, target, overwrite: true);
        return target;
    }

    /// <summary>
    /// ClamAVLogScan/FileLogScan ≥ 1: a mail about to be (re)sent from the resend folder (a blocked mail released
    /// through a block report, a report that could not be delivered) is scanned first; a virus means it is not sent.
    /// Files named n&lt;digits&gt;&lt;maillogExt&gt; are ASSP's own reports and are not scanned. A header line
    /// X-ASSP-ForceResend: in the mail sends it unscanned. Returns the virus name, or null to send.
    /// </summary>
    public static async Task<string?> ScanResendAsync(ConfigSnapshot cfg, string fileName, ReadOnlyMemory<byte> mail, Action<string> log, CancellationToken ct)
    {
        bool clam = cfg.GetBool("UseAvClamd") && cfg.GetChoice("ClamAVLogScan") >= 1;
        bool file = cfg.GetChoice("DoFileScan") != 0 && cfg["FileScanCMD"].Trim().Length > 0 && cfg.GetChoice("FileLogScan") >= 1;
        if ((!clam && !file) || mail.IsEmpty) return null;
        var name = Path.GetFileName(fileName);
        var ext = cfg["maillogExt"];
        if (name.Length > 1 && name[0] == 'n' && name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)
            && name.AsSpan(1, name.Length - 1 - ext.Length) is { Length: > 0 } digits && digits.IndexOfAnyExceptInRange('0', '9') < 0) return null;
        int headerEnd = mail.Span.IndexOf("\r\n\r\n"u8);
        var header = Encoding.Latin1.GetString(mail.Span[..(headerEnd < 0 ? Math.Min(mail.Length, 64 * 1024) : headerEnd)]);
        if (System.Text.RegularExpressions.Regex.IsMatch(header, @"(?im)^X-ASSP-ForceResend:")) return null;
        int limit = CollectedScanBytes(cfg, headerEnd < 0 ? 10000 : headerEnd + 4);
        var data = mail[..Math.Min(mail.Length, limit)].ToArray();
        var virus = await FindVirusAsync(cfg, data, clam, file, log, ct).ConfigureAwait(false);
        if (virus is not null) log($"(re)send - {fileName} - is virus infected: {virus} - not sent");
        return virus;
    }

    /// <summary>
    /// ScanCC: whether a copy of a mail (a spam copy or forwarded ham) may be sent. With ScanCC on and the mail one
    /// that is to be scanned (ScanWL/ScanNP/ScanLocal/noScan as for the mail itself, decided by the caller), the copy's
    /// start (ClamAVBytes, 50000 when unset, at most 100000) goes through clamd (UseAvClamd) and the file scanner
    /// (DoFileScan); a virus means the copy is not forwarded. Returns the virus name, or null to forward.
    /// </summary>
    public static async Task<string?> ScanCopyAsync(ConfigSnapshot cfg, ReadOnlyMemory<byte> copy, bool haveToScan, Action<string> log, CancellationToken ct)
    {
        if (!cfg.GetBool("ScanCC") || !haveToScan || copy.IsEmpty) return null;
        bool clam = cfg.GetBool("UseAvClamd");
        bool file = cfg.GetChoice("DoFileScan") != 0 && cfg["FileScanCMD"].Trim().Length > 0;
        if (!clam && !file) return null;
        long bytes = cfg.GetLong("ClamAVBytes");
        if (bytes <= 0) bytes = 50000;
        bytes = Math.Min(bytes, 100000);
        var data = copy[..(int)Math.Min(copy.Length, bytes)].ToArray();
        var virus = await FindVirusAsync(cfg, data, clam, file, log, ct).ConfigureAwait(false);
        if (virus is not null) log($"info: skip forwarding the copy - virus found: {virus}");
        return virus;
    }

    /// <summary>Runs the selected scanners over the bytes; the first (not only suspicious) virus name, or null.</summary>
    internal static async Task<string?> FindVirusAsync(ConfigSnapshot cfg, byte[] data, bool clam, bool fileScan, Action<string> log, CancellationToken ct)
    {
        var noScan = cfg.GetRegex("NoScanRe");
        if (noScan.Count > 0 && noScan.Match(Encoding.Latin1.GetString(data)) is { } skip)
        {
            log($"NoScanRe found '{skip}' - no virus scan");
            return null;
        }
        if (clam)
        {
            var (client, problem) = ClamAvCheck.Client(cfg);
            if (client is null) log($"ClamAV: not scanned - {problem}");
            else
            {
                var result = await client.ScanAsync(data, ct).ConfigureAwait(false);
                if (result.Status == ClamdStatus.Infected && NotSuspicious(cfg, result.Virus ?? "a virus") is { } virus) return virus;
                if (result.Status is ClamdStatus.Unavailable or ClamdStatus.Error) log($"ClamAV: stored file not scanned - {result.Detail}");
            }
        }
        if (fileScan)
        {
            var scan = await FileScanCheck.ScanAsync(cfg, data, (line, file, number, dir) => FileScanCheck.SubstituteFile(line, file, number, dir), log, ct)
                .ConfigureAwait(false);
            if (scan is { Failed: true } s)
            {
                var named = cfg.GetRegex("FileScanRespRe").Match(s.Output) ?? "a virus";
                if (NotSuspicious(cfg, named) is { } virus) return virus;
            }
        }
        return null;
    }

    /// <summary>The name when it is a real finding; null when SuspiciousVirus matches it (such names only score a live mail).</summary>
    private static string? NotSuspicious(ConfigSnapshot cfg, string virus)
    {
        var list = cfg.GetWeightedRegex("SuspiciousVirus");
        return list.Count > 0 && list.Matches(virus).Count > 0 ? null : virus;
    }
}
