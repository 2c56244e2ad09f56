using System.Security.Cryptography;
using System.Text;
using Assp.Auth.Arc;
using Assp.Auth.Dkim;
using Assp.Mime.Tests;
using Xunit.Abstractions;

namespace Assp.Auth.Tests.Dkim;

/// <summary>
/// The SpamAssassin corpus has no DKIM signatures whose keys still exist, so its messages are re-signed with test
/// keys: our verifier and dkimpy must both accept them, and both must refuse them once the body is changed.
/// </summary>
public sealed class DkimCorpusTests(ITestOutputHelper output)
{
    private static readonly RSA Rsa = RSA.Create(2048);
    private static readonly DkimSigningKey RsaKey = DkimSigningKey.FromRsa(Rsa);
    private static readonly DkimSigningKey EdKey = DkimSigningKey.FromEd25519Seed(RandomNumberGenerator.GetBytes(32));

    /// <summary>Every 25th corpus message (about 240), with CRLF line ends as SMTP delivers them.</summary>
    private static List<(string Name, byte[] Bytes)> Sample()
    {
        var files = Corpus.Files();
        return [.. files.Where((_, i) => i % 25 == 0).Select(f => (Path.GetFileName(f), ToCrlf(File.ReadAllBytes(f))))];
    }

    private static byte[] ToCrlf(byte[] raw)
    {
        var o = new List<byte>(raw.Length + raw.Length / 20);
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) o.Add((byte)'\r');
            o.Add(raw[i]);
        }
        return [.. o];
    }

    private static readonly Dictionary<string, string> Keys = new()
    {
        ["rsa._domainkey.example.org"] = RsaKey.KeyRecord,
        ["ed._domainkey.example.org"] = EdKey.KeyRecord,
    };

    private static InMemoryDkimDns Dns()
    {
        var dns = new InMemoryDkimDns();
        foreach (var (k, v) in Keys) dns.Add(k, v);
        return dns;
    }

    private static byte[] Signed(byte[] message, DkimSigningKey key, string selector, DkimCanonicalization c)
    {
        var header = DkimSigner.Sign(DkimMessage.Parse(message), new DkimSigningOptions
        {
            Domain = "example.org",
            Selector = selector,
            Key = key,
            HeaderCanonicalization = c,
            BodyCanonicalization = c,
        });
        return [.. Encoding.ASCII.GetBytes(header), .. message];
    }

    /// <summary>The body with one more line at its start: a change every canonicalisation sees.</summary>
    private static byte[] Tampered(byte[] signed)
    {
        var text = Encoding.Latin1.GetString(signed);
        int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return Encoding.Latin1.GetBytes(body < 0 ? text + "\r\nX" : text.Insert(body + 4, "Injected line\r\n"));
    }

    [Theory]
    [InlineData(false, DkimCanonicalization.Relaxed)]
    [InlineData(false, DkimCanonicalization.Simple)]
    [InlineData(true, DkimCanonicalization.Relaxed)]
    [InlineData(true, DkimCanonicalization.Simple)]
    public async Task Resigned_corpus_messages_verify_here_and_in_dkimpy_and_fail_once_changed(bool ed25519, DkimCanonicalization c)
    {
        var sample = Sample();
        Assert.True(sample.Count > 100);
        var key = ed25519 ? EdKey : RsaKey;
        var selector = ed25519 ? "ed" : "rsa";
        var signed = new Dictionary<string, byte[]>();
        var tampered = new Dictionary<string, byte[]>();
        int ourPass = 0, ourTamperedFail = 0;
        foreach (var (name, bytes) in sample)
        {
            var s = Signed(bytes, key, selector, c);
            signed[name] = s;
            tampered[name] = Tampered(s);
            var r = await new DkimVerifier(Dns()).VerifyAsync(DkimMessage.Parse(s));
            if (r.Signatures[0].Status == DkimStatus.Pass) ourPass++;
            else output.WriteLine($"{name}: {r.Signatures[0].Reason}");
            var t = await new DkimVerifier(Dns()).VerifyAsync(DkimMessage.Parse(tampered[name]));
            if (t.Signatures[0].Status == DkimStatus.Fail) ourTamperedFail++;
        }
        var theirs = Dkimpy.Verify(signed, Keys.ToDictionary(k => k.Key, k => k.Value));
        var theirsTampered = Dkimpy.Verify(tampered, Keys.ToDictionary(k => k.Key, k => k.Value));
        int dkimpyPass = theirs.Values.Count(v => v == "pass");
        int dkimpyTamperedFail = theirsTampered.Values.Count(v => v.StartsWith("fail", StringComparison.Ordinal));
        output.WriteLine($"{sample.Count} messages: ours pass {ourPass}, dkimpy pass {dkimpyPass}; changed: ours fail {ourTamperedFail}, dkimpy fail {dkimpyTamperedFail}");
        foreach (var (name, v) in theirs.Where(x => x.Value != "pass")) output.WriteLine($"dkimpy refused {name}: {v}");
        Assert.Equal(sample.Count, ourPass);
        Assert.Equal(sample.Count, dkimpyPass);
        Assert.Equal(sample.Count, ourTamperedFail);
        Assert.Equal(sample.Count, dkimpyTamperedFail);
    }

    [Fact]
    public async Task Arc_sets_we_add_to_corpus_messages_validate_in_dkimpy()
    {
        var sample = Sample().Take(40).ToList();
        var sealedMessages = new Dictionary<string, byte[]>();
        foreach (var (name, bytes) in sample)
        {
            var msg = DkimMessage.Parse(bytes);
            var chain = await new ArcValidator(Dns()).ValidateAsync(msg);
            var set = ArcSigner.Sign(msg, chain, new ArcSigningOptions
            {
                Domain = "example.org",
                Selector = "rsa",
                Key = RsaKey,
                AuthenticationResults = "mx.example.org; spf=pass smtp.mailfrom=example.org",
            });
            Assert.NotNull(set);
            var once = Encoding.ASCII.GetBytes(string.Concat(set)).Concat(bytes).ToArray();
            // A second hop seals on top of the first.
            var msg2 = DkimMessage.Parse(once);
            var chain2 = await new ArcValidator(Dns()).ValidateAsync(msg2);
            Assert.Equal(ArcChainStatus.Pass, chain2.Status);
            var set2 = ArcSigner.Sign(msg2, chain2, new ArcSigningOptions
            {
                Domain = "example.org",
                Selector = "rsa",
                Key = RsaKey,
                AuthenticationResults = "relay.example.org; arc=pass",
            })!;
            var twice = Encoding.ASCII.GetBytes(string.Concat(set2)).Concat(once).ToArray();
            Assert.Equal(ArcChainStatus.Pass, (await new ArcValidator(Dns()).ValidateAsync(DkimMessage.Parse(twice))).Status);
            sealedMessages[name] = twice;
        }
        var theirs = Dkimpy.Verify(sealedMessages, Keys.ToDictionary(k => k.Key, k => k.Value), arc: true);
        output.WriteLine(string.Join("\n", theirs.Where(t => t.Value != "pass").Select(t => t.Key + " " + t.Value)));
        Assert.All(theirs.Values, v => Assert.StartsWith("pass", v));
        Assert.Equal(sample.Count, theirs.Count);
    }
}
