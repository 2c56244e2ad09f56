using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Assp.Auth.Tests.Dkim;

/// <summary>
/// Debian's Mail::DKIM (libmail-dkim-perl, the library ASSP itself verifies with; scripts/install-test-deps.sh) as an
/// independent DomainKeys signer: the tests verify what it signs, so our canonicalisation is checked against its own.
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

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("maildkim-");

    public MailDkimPerl(int bits = 1024)
    {
        Rsa = RSA.Create(bits);
        File.WriteAllText(KeyFile, Rsa.ExportRSAPrivateKeyPem());
        File.WriteAllText(ScriptFile, Script);
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

    public void Dispose()
    {
        Rsa.Dispose();
        _dir.Delete(recursive: true);
    }
}
