using System.Buffers;
using System.Text;

namespace Assp.Mime.Tests;

public class CorpusTests
{
    private static MimeMessage ParseFile(string relative) => MimeParser.Parse(Corpus.Read(relative));

    [Fact]
    public void Corpus_is_available()
    {
        Assert.NotNull(Corpus.Directory);
        Assert.True(Corpus.Files().Count > 5000, $"only {Corpus.Files().Count} messages");
    }

    [Fact]
    public void Every_message_parses_and_round_trips_byte_for_byte()
    {
        var files = Corpus.Files();
        int parsed = 0, identical = 0, rebuiltIdentical = 0;
        var failures = new List<string>();
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(f);
            MimeMessage msg;
            try { msg = MimeParser.Parse(bytes); parsed++; }
            catch (Exception ex) { failures.Add($"{Path.GetFileName(f)}: {ex.GetType().Name} {ex.Message}"); continue; }
            if (new MimeWriter(msg).ToArray().AsSpan().SequenceEqual(bytes)) identical++;
            else failures.Add($"{Path.GetFileName(f)}: writer output differs");
            var w = new ArrayBufferWriter<byte>();
            MimeWriter.WriteEntity(w, msg.Root);
            if (bytes.AsSpan(0, msg.Root.HeaderStart).SequenceEqual(bytes.AsSpan(0, msg.Root.HeaderStart)) &&
                w.WrittenSpan.SequenceEqual(bytes.AsSpan(msg.Root.HeaderStart))) rebuiltIdentical++;
            else failures.Add($"{Path.GetFileName(f)}: tree rebuild differs");
            OffsetInvariants.Check(msg);
            // Every decoder must terminate without an exception too.
            foreach (var e in msg.Entities)
            {
                _ = e.GetText();
                _ = e.FileName;
                _ = e.UuencodedItems;
            }
            _ = msg.From; _ = msg.To; _ = msg.Cc; _ = msg.Date; _ = msg.Received; _ = msg.Subject; _ = msg.MessageId;
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(30)));
        Assert.Equal(files.Count, parsed);
        Assert.Equal(files.Count, identical);
        Assert.Equal(files.Count, rebuiltIdentical);
        Console.WriteLine($"corpus: {files.Count} messages, {parsed} parsed, {identical} round-trip identical");
    }
}

/// <summary>Checks that entity offsets nest and are ordered.</summary>
public static class OffsetInvariants
{
    public static void Check(MimeMessage msg)
    {
        foreach (var e in msg.Entities)
        {
            int len = e.Source.Length;
            Assert.True(0 <= e.HeaderStart && e.HeaderStart <= e.HeaderEnd && e.HeaderEnd <= e.BodyStart && e.BodyStart <= e.BodyEnd && e.BodyEnd <= len,
                $"bad offsets {e}");
            int cursor = e.HeaderStart;
            foreach (var h in e.Headers)
            {
                Assert.Equal(cursor, h.Offset);
                cursor += h.RawLine.Length;
            }
            Assert.Equal(e.HeaderEnd, cursor);
            // Parts found in a decoded body live in their own buffer: they nest in it, not in the raw body.
            int c = e.HasDecodedParts ? 0 : e.BodyStart;
            int limit = e.HasDecodedParts ? e.GetContentBytes().Length : e.BodyEnd;
            foreach (var child in e.Children)
            {
                Assert.Equal(e.HasDecodedParts, child.IsInDecodedContent && !child.Source.Equals(e.Source));
                Assert.True(child.HeaderStart >= c && child.BodyEnd <= limit, $"child {child} outside {e}");
                c = child.BodyEnd;
            }
        }
    }
}
