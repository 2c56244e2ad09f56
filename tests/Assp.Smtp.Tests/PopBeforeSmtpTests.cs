using System.Diagnostics;
using System.Text;
using Assp.Config;
using Assp.Smtp.Session;
using Assp.Storage;

namespace Assp.Smtp.Tests;

/// <summary>
/// PopB4SMTPFile read as the POP daemons write it: Berkeley DB hash files made by Perl's DB_File (real libdb, as
/// pop-before-smtp uses), and Merak 7.5.2's file of 64-byte records.
/// </summary>
public sealed class PopBeforeSmtpTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "assp-popb4-" + Guid.NewGuid().ToString("N"));

    public PopBeforeSmtpTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Writes a DB_HASH file with Perl's DB_File (libdb 5); pairs go through a file so any byte survives.</summary>
    internal static void WriteBerkeleyHash(string path, params (string Key, string Value)[] pairs)
    {
        var input = path + ".pairs";
        File.WriteAllText(input, string.Concat(pairs.Select(p => $"{Convert.ToBase64String(Encoding.Latin1.GetBytes(p.Key))} {Convert.ToBase64String(Encoding.Latin1.GetBytes(p.Value))}\n")));
        var psi = new ProcessStartInfo("perl") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-MDB_File", "-MFcntl", "-MMIME::Base64", "-e",
                     "tie my %h, 'DB_File', $ARGV[0], O_RDWR|O_CREAT, 0644, $DB_HASH or die \"tie: $!\"; open my $in, '<', $ARGV[1] or die; " +
                     "while (<$in>) { chomp; my ($k, $v) = split / /; $h{decode_base64($k)} = decode_base64($v // ''); } untie %h;",
                     path, input })
            psi.ArgumentList.Add(a);
        using var perl = Process.Start(psi) ?? throw new InvalidOperationException("perl did not start");
        var err = perl.StandardError.ReadToEnd();
        perl.WaitForExit();
        Assert.True(perl.ExitCode == 0, "perl DB_File (Debian package perl) failed: " + err);
        File.Delete(input);
    }

    private ConfigSnapshot Cfg(params (string, string)[] values)
    {
        var loader = new ConfigLoader(Assp.Config.Registry.OptionRegistry.Default) { AllowExec = false, ExportGroups = false };
        return loader.Load(new ConfigSource(_dir, Overrides: [.. values.Select(v => KeyValuePair.Create(v.Item1, v.Item2))]));
    }

    [Fact]
    public void A_berkeley_hash_file_is_read_with_every_pair_including_long_values_on_overflow_pages()
    {
        var path = Path.Combine(_dir, "big.db");
        var pairs = Enumerable.Range(0, 3000).Select(i => ($"10.{i / 256}.{i % 256}.1", $"{1763800000 + i}")).ToList();
        pairs.Add(("long", new string('x', 9000)));
        WriteBerkeleyHash(path, [.. pairs]);
        var read = BerkeleyHashFile.Read(path);
        Assert.Equal(pairs.Count, read.Count);
        foreach (var (k, v) in pairs) Assert.Equal(v, read[k]);

        File.WriteAllText(Path.Combine(_dir, "text.db"), new string('a', 4096));
        var ex = Assert.Throws<InvalidDataException>(() => BerkeleyHashFile.Read(Path.Combine(_dir, "text.db")));
        Assert.Contains("not a Berkeley DB hash database", ex.Message);
    }

    [Fact]
    public void Listed_ips_with_a_true_value_may_relay()
    {
        var path = Path.Combine(_dir, "popip.db");
        WriteBerkeleyHash(path, ("192.0.2.10", "1763800000"), ("192.0.2.11", "0"), ("192.0.2.12\0", "ok"));
        var log = new List<string>();
        var cfg = Cfg(("PopB4SMTPFile", "popip.db"));                      // relative to the base folder
        Assert.True(PopBeforeSmtp.Allows(cfg, "192.0.2.10", log.Add));
        Assert.Equal("PopB4SMTP OK for 192.0.2.10", log[^1]);
        Assert.False(PopBeforeSmtp.Allows(cfg, "192.0.2.11", log.Add));    // a false value
        Assert.Equal("PopB4SMTP failed for 192.0.2.11", log[^1]);
        Assert.True(PopBeforeSmtp.Allows(cfg, "192.0.2.12"));              // a key written with its closing NUL
        Assert.False(PopBeforeSmtp.Allows(cfg, "192.0.2.13"));

        // The daemon rewrites the file: the next connection sees it.
        WriteBerkeleyHash(Path.Combine(_dir, "new.db"), ("192.0.2.13", "1763800100"));
        File.Move(Path.Combine(_dir, "new.db"), path, overwrite: true);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
        Assert.True(PopBeforeSmtp.Allows(cfg, "192.0.2.13"));
        Assert.False(PopBeforeSmtp.Allows(cfg, "192.0.2.10"));

        // Nothing configured, or an unreadable file: nobody relays, and the problem is logged.
        Assert.False(PopBeforeSmtp.Allows(Cfg(), "192.0.2.13"));
        File.WriteAllText(Path.Combine(_dir, "broken.db"), "not a database");
        Assert.False(PopBeforeSmtp.Allows(Cfg(("PopB4SMTPFile", "broken.db")), "192.0.2.13", log.Add));
        Assert.StartsWith("PopB4SMTP: cannot read PopB4SMTPFile", log[^1]);
        Assert.False(PopBeforeSmtp.Allows(Cfg(("PopB4SMTPFile", "missing.db")), "192.0.2.13", log.Add));
        Assert.Contains("does not exist", log[^1]);
    }

    [Fact]
    public void The_Merak_file_holds_each_ip_after_its_length_byte_in_64_byte_records()
    {
        static byte[] Record(string ip)
        {
            var r = new byte[64];
            r[0] = (byte)ip.Length;
            Encoding.ASCII.GetBytes(ip, r.AsSpan(1));
            return r;
        }
        var path = Path.Combine(_dir, "popsmtp.dat");
        File.WriteAllBytes(path, [.. Record("192.0.2.10"), .. Record("10.1.2.3")]);
        var cfg = Cfg(("PopB4SMTPFile", path), ("PopB4SMTPMerak", "1"));
        var log = new List<string>();
        Assert.True(PopBeforeSmtp.Allows(cfg, "192.0.2.10", log.Add));
        Assert.True(PopBeforeSmtp.Allows(cfg, "10.1.2.3"));
        Assert.False(PopBeforeSmtp.Allows(cfg, "10.1.2.30", log.Add));     // the length byte tells 10.1.2.3 from 10.1.2.30
        Assert.Equal("PopB4SMTP NOT OK for 10.1.2.30", log[^1]);
        Assert.False(PopBeforeSmtp.Allows(cfg, "0.2.10"));
        // The same file is no Berkeley DB without PopB4SMTPMerak.
        Assert.False(PopBeforeSmtp.Allows(Cfg(("PopB4SMTPFile", path)), "192.0.2.10"));
    }
}
