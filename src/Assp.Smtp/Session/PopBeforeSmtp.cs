using System.Text;
using Assp.Config;
using Assp.Storage;

namespace Assp.Smtp.Session;

/// <summary>
/// POP before SMTP (PopB4SMTPFile): an IP that logged in to the POP server a short while ago may relay, as
/// acceptAllMail does. The POP daemon keeps those IPs in PopB4SMTPFile, a Berkeley DB hash keyed by the dotted IP
/// (e.g. /etc/mail/popip.db; the key must have a true value). With PopB4SMTPMerak the file is Merak's: 64-byte
/// records, each IP stored after a byte holding its length. The file is read again whenever it changes.
/// </summary>
public static class PopBeforeSmtp
{
    private sealed record Loaded(string Path, DateTime Modified, long Length, bool Merak, HashSet<string>? Ips, byte[]? Raw, string? Error);
    private static Loaded? s_last;

    /// <summary>Is the IP allowed to relay? <paramref name="log"/> gets ASSP's "PopB4SMTP OK/failed for ip" lines and read errors.</summary>
    public static bool Allows(ConfigSnapshot cfg, string ip, Action<string>? log = null)
    {
        var file = cfg["PopB4SMTPFile"].Trim();
        if (file.Length == 0) return false;
        var path = Path.IsPathRooted(file) ? file : Path.Combine(cfg.BaseDirectory, file);
        var loaded = Load(path, cfg.GetBool("PopB4SMTPMerak"));
        if (loaded.Error is not null)
        {
            log?.Invoke($"PopB4SMTP: cannot read PopB4SMTPFile '{path}': {loaded.Error}");
            return false;
        }
        bool ok = loaded.Merak ? MerakContains(loaded.Raw!, ip) : loaded.Ips!.Contains(ip);
        log?.Invoke(ok ? $"PopB4SMTP OK for {ip}" : loaded.Merak ? $"PopB4SMTP NOT OK for {ip}" : $"PopB4SMTP failed for {ip}");
        return ok;
    }

    private static Loaded Load(string path, bool merak)
    {
        DateTime modified;
        long length;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) return new Loaded(path, default, -1, merak, null, null, "the file does not exist");
            (modified, length) = (info.LastWriteTimeUtc, info.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new Loaded(path, default, -1, merak, null, null, ex.Message);
        }
        var last = Volatile.Read(ref s_last);
        if (last is not null && last.Path == path && last.Merak == merak && last.Modified == modified && last.Length == length && last.Error is null) return last;
        Loaded fresh;
        try
        {
            if (merak) fresh = new Loaded(path, modified, length, true, null, File.ReadAllBytes(path), null);
            else
            {
                var ips = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (key, value) in BerkeleyHashFile.Read(path))
                {
                    // Perl's truth: an empty value or "0" does not allow. Some daemons store the key with a closing NUL.
                    if (value.TrimEnd('\0') is "" or "0") continue;
                    ips.Add(key.TrimEnd('\0'));
                }
                fresh = new Loaded(path, modified, length, false, ips, null, null);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            fresh = new Loaded(path, modified, length, merak, null, null, ex.Message);
        }
        Volatile.Write(ref s_last, fresh);
        return fresh;
    }

    /// <summary>Merak's file: the IP with its length byte in front, anywhere in the file (as ASSP searches it).</summary>
    private static bool MerakContains(byte[] raw, string ip)
    {
        if (ip.Length is 0 or > 255) return false;
        var needle = new byte[ip.Length + 1];
        needle[0] = (byte)ip.Length;
        Encoding.ASCII.GetBytes(ip, needle.AsSpan(1));
        return raw.AsSpan().IndexOf(needle) >= 0;
    }
}
