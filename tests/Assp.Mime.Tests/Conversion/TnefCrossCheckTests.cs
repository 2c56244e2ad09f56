using System.Diagnostics;
using System.Text;
using Assp.Mime.Attachments;
using Assp.Mime.Conversion;
using Assp.Mime.Tests.Attachments;

namespace Assp.Mime.Tests.Conversion;

/// <summary>
/// Our TNEF decoding against Debian's independent decoder (the tnef package, scripts/install-test-deps.sh): for the
/// same winmail.dat both must find the same file names with the same bytes.
/// </summary>
public class TnefCrossCheckTests
{
    private static Dictionary<string, byte[]> DebianTnef(byte[] winmailDat, bool ignoreChecksum = false)
    {
        Assert.True(File.Exists("/usr/bin/tnef"), "Debian's tnef decoder is missing: run scripts/install-test-deps.sh");
        var dir = Directory.CreateTempSubdirectory("tnef-check-");
        try
        {
            var input = Path.Combine(dir.FullName, "winmail.dat");
            File.WriteAllBytes(input, winmailDat);
            var outDir = Directory.CreateDirectory(Path.Combine(dir.FullName, "out"));
            var psi = new ProcessStartInfo("/usr/bin/tnef") { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in new[] { "-f", input, "-C", outDir.FullName, "--overwrite" }) psi.ArgumentList.Add(a);
            if (ignoreChecksum) psi.ArgumentList.Add("--ignore-checksum");
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, "tnef failed: " + err);
            return outDir.GetFiles().ToDictionary(f => f.Name, f => File.ReadAllBytes(f.FullName));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static Dictionary<string, byte[]> Ours(byte[] winmailDat) =>
        TnefToMime.Parts(TnefReader.List(winmailDat)).Where(p => p.FileName is not null).ToDictionary(p => p.FileName!, p => p.Content);

    public static TheoryData<string> Samples() => ["two files", "long names in MAPI", "unicode name", "bad checksum", "big file"];

    private static byte[] Sample(string name) => name switch
    {
        "two files" => MessageConverterTests.WinmailDat(),
        "long names in MAPI" => new TnefWriter().Version()
            .RendData().Title("QUARTE~1.XLS").Data(Encoding.ASCII.GetBytes("col1;col2\r\n1;2\r\n"))
            .AttachProps((TnefWriter.PtString8, 0x3707, TnefWriter.Z8("Quarterly Report 2024.xls")), (TnefWriter.PtLong, 0x3705, TnefWriter.I32(1)))
            .RendData().Title("SETUP.BAT").Data(Encoding.ASCII.GetBytes("@echo off\r\n"))
            .ToArray(),
        "unicode name" => new TnefWriter().Version()
            .RendData().Title("BERSIC~1.TXT").Data("Übersicht"u8.ToArray())
            .AttachProps((TnefWriter.PtUnicode, 0x3707, TnefWriter.Z16("Übersicht.txt"))).ToArray(),
        "bad checksum" => new TnefWriter().Version().RendData().Title("a.txt").Attr(2, 0x0006800F, "abc"u8.ToArray(), badChecksum: true).ToArray(),
        "big file" => new TnefWriter().Version().RendData().Title("blob.bin")
            .Data([.. Enumerable.Range(0, 200_000).Select(i => (byte)(i * 31 + (i >> 8)))]).ToArray(),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Our_decoder_and_debians_find_the_same_files(string sample)
    {
        var data = Sample(sample);
        // A damaged checksum is counted and the attribute still used (the attachment check must see what a client may
        // still open); tnef agrees when told to ignore checksums.
        bool damaged = sample == "bad checksum";
        Assert.Equal(damaged ? 1 : 0, TnefReader.List(data).ChecksumErrors);
        var theirs = DebianTnef(data, ignoreChecksum: damaged);
        var ours = Ours(data);
        Assert.Equal(theirs.Keys.Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in theirs) Assert.Equal(bytes, ours[name]);
    }
}
