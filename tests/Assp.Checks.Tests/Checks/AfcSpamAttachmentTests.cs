using System.Security.Cryptography;
using Assp.Bayes;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;
using Assp.Storage;

namespace Assp.Checks.Tests.Checks;

/// <summary>ASSP_AFCDetectSpamAttachRe through the real pipeline, over a spamdb that knows one picture as spam.</summary>
public class AfcSpamAttachmentTests
{
    private const string Rcpt = "u@local.test";
    // 700 bytes: the key hashes only the first 512.
    private static readonly byte[] Picture = [.. "GIF89a"u8, .. Enumerable.Range(0, 694).Select(i => (byte)(i * 31 + 7))];

    /// <summary>ASSP's key, computed here on its own: hex MD5 of the first 512 decoded bytes, a space, the length.</summary>
    private static string KeyOf(byte[] content) => Convert.ToHexStringLower(MD5.HashData(content.AsSpan(0, Math.Min(512, content.Length)))) + " " + content.Length;

    private static string Mail(byte[] picture, string type = "image/gif") =>
        $"From: a@sender.example\r\nTo: {Rcpt}\r\nSubject: look\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
        + "--B\r\nContent-Type: text/plain\r\n\r\nsee the picture\r\n"
        + $"--B\r\nContent-Type: {type}; name=\"pic.gif\"\r\nContent-Disposition: attachment; filename=\"pic.gif\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + Convert.ToBase64String(picture, Base64FormattingOptions.InsertLineBreaks) + "\r\n--B--\r\n";

    private static MemoryStore Store(params (string Key, double P)[] entries)
    {
        var store = new MemoryStore();
        var bayes = entries.ToDictionary(e => e.Key, e => e.P);
        bayes["some pair"] = 0.5;
        SpamDbStore.Save(store, bayes, new Dictionary<ulong, double>(), 1, writeHmm: false);
        return store;
    }

    private static ConfigSnapshot Cfg(params (string, string)[] values) =>
        TestConfig.Create([("localDomains", "local.test"), ("DoASSP_AFC", "1"), ("AttachmentLog", "1"), .. values]);

    private static async Task<(Verdict Verdict, FakeMailContext Ctx)> Run(IStore store, ConfigSnapshot cfg, string message, Action<FakeMailContext>? setup = null)
    {
        var services = new CheckServices(store);
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(services));
        var ctx = new FakeMailContext(cfg) { Helo = "mx.sender.example" };
        setup?.Invoke(ctx);
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, "a@sender.example", [Rcpt], message);
        return (verdict, ctx);
    }

    [Fact]
    public void The_key_is_ASSPs_md5_of_the_first_512_bytes_and_the_length()
    {
        var msg = Assp.Mime.MimeParser.Parse(System.Text.Encoding.ASCII.GetBytes(Mail(Picture)));
        Assert.Equal([KeyOf(Picture)], AttachmentHashes.Of(msg, t => t.StartsWith("image/", StringComparison.OrdinalIgnoreCase)));
        Assert.Empty(AttachmentHashes.Of(msg, t => t.StartsWith("application/", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task A_picture_spamdb_knows_as_spam_refuses_the_mail()
    {
        using var store = Store((KeyOf(Picture), 0.99));
        var (verdict, ctx) = await Run(store, Cfg(), Mail(Picture));
        Assert.True(verdict.Refuses);
        Assert.Equal(AfcSpamAttachment.Reply, verdict.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("spam attachment (image/ - pic.gif) found in MIME part - spam probability is 0.99", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Another_picture_a_ham_entry_or_a_non_matching_type_pass()
    {
        var other = Picture.ToArray();
        other[600] ^= 1;   // beyond the hashed 512 bytes, but the same length: the same key, as in ASSP
        using var store = Store((KeyOf(Picture), 0.99));
        Assert.True((await Run(store, Cfg(), Mail(other))).Verdict.Refuses);
        var shorter = Picture[..650];
        Assert.False((await Run(store, Cfg(), Mail(shorter))).Verdict.Refuses);
        Assert.False((await Run(store, Cfg(), Mail(Picture, "application/octet-stream"))).Verdict.Refuses);

        using var hamStore = Store((KeyOf(Picture), 0.2));
        Assert.False((await Run(hamStore, Cfg(), Mail(Picture))).Verdict.Refuses);
    }

    [Fact]
    public async Task The_recipients_private_entry_comes_before_the_global_one()
    {
        using var store = Store((KeyOf(Picture), 0.99), (Rcpt + " " + KeyOf(Picture), 0.1));
        Assert.False((await Run(store, Cfg(("DoPrivatSpamdb", "1")), Mail(Picture))).Verdict.Refuses);
        Assert.True((await Run(store, Cfg(("DoPrivatSpamdb", "0")), Mail(Picture))).Verdict.Refuses);
    }

    [Fact]
    public async Task Off_blank_whitelisted_or_local_mail_is_not_looked_at()
    {
        using var store = Store((KeyOf(Picture), 0.99));
        Assert.False((await Run(store, Cfg(("DoASSP_AFC", "0")), Mail(Picture))).Verdict.Refuses);
        Assert.False((await Run(store, Cfg(("ASSP_AFCDetectSpamAttachRe", "")), Mail(Picture))).Verdict.Refuses);
        Assert.False((await Run(store, Cfg(), Mail(Picture), ctx => ctx.Class = ConnectionClass.Relay)).Verdict.Refuses);
        Assert.False((await Run(store, Cfg(("whiteListedDomains", "sender.example")), Mail(Picture))).Verdict.Refuses);
    }
}
