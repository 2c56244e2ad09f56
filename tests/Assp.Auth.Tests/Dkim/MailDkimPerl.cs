using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Assp.Auth.Tests.Dkim;

/// <summary>
/// Debian's Mail::DKIM (libmail-dkim-perl, the library ASSP itself verifies with; scripts/install-test-deps.sh) as an
/// independent DomainKeys signer and verifier: the tests verify what it signs and let it verify what we sign, so our
/// canonicalisation is checked against its own.
/// </summary>
public sealed class MailDkimPerl : IDisposable
{
    private const string Script = """
use strict; use warnings;
use Mail::DKIM::Signer; use Mail::DKIM::PrivateKey; use Mail::DKIM::DkSignature;
my ($keyfile, $method, $domain, $selector, $headers) = @ARGV;
my $msg = do { local $/; binmode STDIN; <STDIN> };
my $key = Mail::DKIM::PrivateKey->load(File => $keyfile);
my $dkim = Mail::DKIM::Signer->new(Key => $key, Policy => sub {
    my $d = shift;
    $d->add_signature(Mail::DKIM::DkSignature->new(Algorithm => 'rsa-sha1', Method => $method, Domain => $domain,
        Selector => $selector, Key => $key, ($headers eq '-' ? () : (Headers => ($headers eq '*' ? $d->headers : $headers)))));
    return; });
$msg =~ s/\r?\n/\r\n/g;
$dkim->PRINT($msg);
$dkim->CLOSE;
my $sig = $dkim->signature->as_string;
$sig =~ s/\r?\n/\r\n/g;
binmode STDOUT;
print $sig, "\r\n", $msg;
""";

    private const string VerifyScript = """
use strict; use warnings;
use Mail::DKIM::Verifier; use Mail::DKIM::PublicKey;
# Keys come from a file "name record" instead of DNS.
my ($keys, @files) = @ARGV;
my %k; open my $kf, '<', $keys or die; while (<$kf>) { chomp; my ($n, $r) = split / /, $_, 2; $k{lc $n} = $r; } close $kf;
no warnings 'redefine';
*Mail::DKIM::PublicKey::fetch_async = sub { my ($class, %p) = @_; my $name = lc($p{Selector} . '._domainkey.' . $p{Domain});
  my $key = exists $k{$name} ? Mail::DKIM::PublicKey->parse($k{$name}) : undef;
  my $cb = $p{Callbacks} || {}; my $r = $cb->{Success} ? $cb->{Success}->($key) : $key; return sub { $r }; };
for my $f (@files) {
  open my $fh, '<', $f or die; binmode $fh; my $dkim = Mail::DKIM::Verifier->new();
  while (my $l = <$fh>) { $l =~ s/\r?\n\z//; $dkim->PRINT("$l\r\n"); }
  $dkim->CLOSE; my @s = $dkim->signatures;
  print "$f ", join(',', map { (ref($_) =~ /Dk/ ? 'dk' : 'dkim') . ':' . $_->result_detail } @s), "\n";
}
""";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("maildkim-");

    public MailDkimPerl(int bits = 1024)
    {
        Rsa = RSA.Create(bits);
        File.WriteAllText(KeyFile, Rsa.ExportRSAPrivateKeyPem());
        File.WriteAllText(ScriptFile, Script);
        File.WriteAllText(Path.Combine(_dir.FullName, "verify.pl"), VerifyScript);
    }

    public RSA Rsa { get; }

    /// <summary>The key record to publish: "k=rsa; p=…" plus any extra tags.</summary>
    public string KeyRecord(string extra = "") => "k=rsa; " + extra + "p=" + Convert.ToBase64String(Rsa.ExportSubjectPublicKeyInfo());

    private string KeyFile => Path.Combine(_dir.FullName, "key.pem");

    private string ScriptFile => Path.Combine(_dir.FullName, "sign.pl");

    /// <summary>
    /// The message with a DomainKey-Signature on top, CRLF line ends. <paramref name="headers"/>: "-" for no h=,
    /// "*" for every header, or a colon-separated list.
    /// </summary>
    public byte[] Sign(string message, string method, string domain, string selector, string headers = "-")
    {
        var psi = new ProcessStartInfo("/usr/bin/perl", [ScriptFile, KeyFile, method, domain, selector, headers])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var output = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(output);
        p.StandardInput.BaseStream.Write(Encoding.Latin1.GetBytes(message));
        p.StandardInput.Close();
        copy.Wait();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("Mail::DKIM failed: " + stderr.Result);
        return output.ToArray();
    }

    /// <summary>
    /// Mail::DKIM's verdict on each message, keys given as "selector._domainkey.domain" → record (no DNS): per file
    /// the signatures as "dk:pass", "dkim:fail (…)" … joined by commas.
    /// </summary>
    public Dictionary<string, string> Verify(IReadOnlyDictionary<string, byte[]> messages, IReadOnlyDictionary<string, string> keyRecords)
    {
        var mail = Directory.CreateDirectory(Path.Combine(_dir.FullName, "verify-" + Guid.NewGuid().ToString("N")));
        var files = new List<string>();
        foreach (var (name, bytes) in messages)
        {
            File.WriteAllBytes(Path.Combine(mail.FullName, name), bytes);
            files.Add(Path.Combine(mail.FullName, name));
        }
        var keys = Path.Combine(mail.FullName, "keys.txt");
        File.WriteAllLines(keys, keyRecords.Select(k => k.Key + " " + k.Value));
        var psi = new ProcessStartInfo("/usr/bin/perl", [Path.Combine(_dir.FullName, "verify.pl"), keys, .. files])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException("Mail::DKIM verifier failed: " + stderr.Result);
        return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2))
            .ToDictionary(a => Path.GetFileName(a[0]), a => a.Length > 1 ? a[1] : "");
    }

    public void Dispose()
    {
        Rsa.Dispose();
        _dir.Delete(recursive: true);
    }
}
