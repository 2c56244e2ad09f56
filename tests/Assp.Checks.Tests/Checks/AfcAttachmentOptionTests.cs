using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Assp.Checks.Checks;
using Assp.Checks.Decision;
using Assp.Checks.Tests.Decision;
using Assp.Config;

namespace Assp.Checks.Tests.Checks;

/// <summary>ASSP_AFCKnownGoodEXE, ASSP_AFCMaxZIPLevel and ASSP_AFCblockEncryptedZIP in the attachment check.</summary>
public class AfcAttachmentOptionTests
{
    private const string Reply = "550 5.7.1 These attachments are not allowed -- Compress before mailing.";

    internal static byte[] Pe()
    {
        var b = new byte[0x200];
        b[0] = (byte)'M'; b[1] = (byte)'Z';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(0x3C), 0x80);
        "PE\0\0"u8.CopyTo(b.AsSpan(0x80));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84), 0x8664);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 16), 0xF0);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 18), 0x0022);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(0x84 + 20), 0x20B);
        return b;
    }

    internal static byte[] Zip(params (string Name, byte[] Data)[] entries)
    {
        var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in entries)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                s.Write(data);
            }
        return ms.ToArray();
    }

    /// <summary>A zip whose members carry the "encrypted" flag (bit 0) in local and central headers, as a password zip does.</summary>
    internal static byte[] EncryptedZip(params (string Name, byte[] Data)[] entries)
    {
        var b = Zip(entries);
        for (int i = 0; i + 4 <= b.Length; i++)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(i));
            if (sig == 0x04034b50) b[i + 6] |= 1;
            else if (sig == 0x02014b50) b[i + 8] |= 1;
        }
        return b;
    }

    internal static string Mail(string fileName, byte[] content) =>
        "From: a@sender.example\nTo: u@local.test\nMessage-ID: <1@sender.example>\nSubject: files\nMIME-Version: 1.0\n"
        + "Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain\n\nsee attached\n--XX\n"
        + $"Content-Type: application/octet-stream; name=\"{fileName}\"\nContent-Disposition: attachment; filename=\"{fileName}\"\n"
        + $"Content-Transfer-Encoding: base64\n\n{Convert.ToBase64String(content, Base64FormattingOptions.InsertLineBreaks)}\n--XX--\n";

    internal static ConfigSnapshot Cfg(string? knownGood, params (string, string)[] values) =>
        TestConfig.Create(knownGood is null ? null : new Dictionary<string, string> { ["files/knowngoodattach.txt"] = knownGood },
            [("localDomains", "local.test"), ("DoBlockExes", "1"), ("BlockExes", "1"), .. values]);

    internal static async Task<(Verdict Verdict, FakeMailContext Ctx)> Run(ConfigSnapshot cfg, string message,
        string from = "a@sender.example", string rcpt = "u@local.test", Action<FakeMailContext>? setup = null)
    {
        var pipeline = new DecisionPipeline(new DecisionEngine(new FakeIpReputation(), new FakeAddressReputation()), null, CheckCatalog.Discover(CheckServices.None));
        var ctx = new FakeMailContext(cfg);
        setup?.Invoke(ctx);
        var (verdict, _) = await Transaction.RunAsync(pipeline, ctx, from, [rcpt], message);
        return (verdict, ctx);
    }

    private static readonly string PeHash = KnownGoodAttachments.Hash(Pe());

    [Fact]
    public void The_hash_file_takes_levels_and_comments()
    {
        var list = KnownGoodAttachments.Parse([
            "# sales documents",
            PeHash.ToUpperInvariant() + " 0,2-3 # the installer",
            new string('a', 64) + " *",
            new string('b', 64),
            new string('c', 64) + " 1...4 # range with dots",
            "not-a-hash",
        ]);
        Assert.Equal(4, list.Count);
        Assert.True(list.IsKnownGood(PeHash, 0));
        Assert.False(list.IsKnownGood(PeHash, 1));
        Assert.True(list.IsKnownGood(PeHash, 3));
        Assert.True(list.IsKnownGood(new string('A', 64), 7));
        Assert.True(list.IsKnownGood(new string('b', 64), 5));
        Assert.False(list.IsKnownGood(new string('c', 64), 0));
        Assert.True(list.IsKnownGood(new string('c', 64), 4));
        Assert.Single(list.Problems);
    }

    [Fact]
    public async Task A_known_good_executable_passes_only_with_ASSP_AFC_and_at_its_listed_level()
    {
        var file = PeHash + " 0 # our installer\n";
        Assert.Equal(Reply, (await Run(Cfg(file), Mail("setup.exe", Pe()))).Verdict.Reply);                  // plugin off
        var (passed, ctx) = await Run(Cfg(file, ("DoASSP_AFC", "1")), Mail("setup.exe", Pe()));
        Assert.False(passed.Refuses);
        Assert.Contains(ctx.LogLines, l => l.Contains("is listed in ASSP_AFCKnownGoodEXE"));
        Assert.True((await Run(Cfg(PeHash + " 1\n", ("DoASSP_AFC", "1")), Mail("setup.exe", Pe()))).Verdict.Refuses);
        // The same executable inside a zip is a level-1 member.
        Assert.True((await Run(Cfg(file, ("DoASSP_AFC", "1")), Mail("tools.zip", Zip(("run.exe", Pe()))))).Verdict.Refuses);
        Assert.False((await Run(Cfg(PeHash + " 1\n", ("DoASSP_AFC", "1")), Mail("tools.zip", Zip(("run.exe", Pe()))))).Verdict.Refuses);
    }

    [Fact]
    public async Task ASSP_AFCMaxZIPLevel_sets_how_deep_archives_in_archives_are_opened()
    {
        var nested = Mail("outer.zip", Zip(("inner.zip", Zip(("run.exe", Pe())))));
        Assert.True((await Run(Cfg(null, ("DoASSP_AFC", "1")), nested)).Verdict.Refuses);                  // default 10
        Assert.True((await Run(Cfg(null, ("DoASSP_AFC", "1"), ("ASSP_AFCMaxZIPLevel", "2")), nested)).Verdict.Refuses);
        Assert.False((await Run(Cfg(null, ("DoASSP_AFC", "1"), ("ASSP_AFCMaxZIPLevel", "1")), nested)).Verdict.Refuses);
    }

    [Fact]
    public async Task ASSP_AFCblockEncryptedZIP_refuses_a_password_protected_archive()
    {
        var mail = Mail("secret.zip", EncryptedZip(("notes.txt", Encoding.ASCII.GetBytes("harmless words"))));
        Assert.False((await Run(Cfg(null, ("DoASSP_AFC", "1")), mail)).Verdict.Refuses);
        var (refused, ctx) = await Run(Cfg(null, ("DoASSP_AFC", "1"), ("ASSP_AFCblockEncryptedZIP", "1")), mail);
        Assert.Equal(Reply, refused.Reply);
        Assert.Contains(ctx.LogLines, l => l.Contains("encrypted compressed attachment"));
        Assert.False((await Run(Cfg(null, ("ASSP_AFCblockEncryptedZIP", "1")), mail)).Verdict.Refuses);    // plugin off
    }
}
