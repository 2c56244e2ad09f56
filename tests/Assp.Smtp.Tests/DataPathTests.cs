using System.Text;
using Assp.Smtp.Protocol;
using Assp.Smtp.Session;

namespace Assp.Smtp.Tests;

/// <summary>
/// The bulk DATA receive (<see cref="DataReceiver"/>) and the bulk forwarding (<see cref="OutboundMessage"/>)
/// against the line-by-line algorithms they replaced (kept here as the reference), on fixed cases and on random
/// messages cut into random pieces.
/// </summary>
public class DataPathTests
{
    private const int MaxDataChunk = 64 * 1024;

    // ----- receive ------------------------------------------------------------------------------------------

    /// <summary>The receive loop of the session, over a stream that hands out a few bytes per read.</summary>
    private static async Task<(string Stored, bool Ended, bool TooLarge, string After)> Receive(byte[] wire, int chunk, long limit = 0)
    {
        using var reader = new SmtpLineReader(new TrickleStream(wire, chunk));
        using var buffer = new MessageBuffer(1 << 20, Path.GetTempPath());
        var receiver = new DataReceiver(buffer, limit);
        reader.EnsureCapacity(64 * 1024);
        while (true)
        {
            reader.Consume(receiver.Scan(reader.BufferedSpan));
            if (receiver.Ended || !await reader.FillAsync(default)) break;
        }
        reader.TrimCapacity(8192);
        var after = new StringBuilder();
        while (true)
        {
            var line = await reader.ReadLineAsync(1000, false, default);
            if (line.Status == LineStatus.EndOfStream) break;
            after.Append(Encoding.Latin1.GetString(line.Bytes.Span)).Append('|');
        }
        return (Stored(buffer), receiver.Ended, receiver.TooLarge, after.ToString());
    }

    private static string Stored(MessageBuffer buffer)
    {
        using var s = buffer.OpenRead();
        var ms = new MemoryStream();
        s.CopyTo(ms);
        return Encoding.Latin1.GetString(ms.ToArray());
    }

    /// <summary>The former ReceiveMessageAsync, line by line; then what the command reader gets after it.</summary>
    private static async Task<(string Stored, bool Ended, bool TooLarge, string After)> ReferenceReceive(byte[] wire, long limit = 0)
    {
        using var reader = new SmtpLineReader(new MemoryStream(wire));
        var stored = new MemoryStream();
        bool tooLarge = false, atLineStart = true, ended = false;
        while (true)
        {
            var line = await reader.ReadLineAsync(MaxDataChunk, allowPartial: true, default);
            if (line.Status == LineStatus.EndOfStream) break;
            var bytes = line.Bytes;
            if (atLineStart && line.Status == LineStatus.Line && bytes.Length == 1 && bytes.Span[0] == '.')
            {
                ended = true;
                break;
            }
            if (atLineStart && bytes.Length > 0 && bytes.Span[0] == '.') bytes = bytes[1..];
            bool complete = line.Status == LineStatus.Line;
            if (!tooLarge)
            {
                long after = stored.Length + bytes.Length + (complete ? 2 : 0);
                if (limit > 0 && after > limit) tooLarge = true;
                else
                {
                    stored.Write(bytes.Span);
                    if (complete) stored.Write("\r\n"u8);
                }
            }
            atLineStart = complete;
        }
        var rest = new StringBuilder();
        while (true)
        {
            var line = await reader.ReadLineAsync(1000, false, default);
            if (line.Status == LineStatus.EndOfStream) break;
            rest.Append(Encoding.Latin1.GetString(line.Bytes.Span)).Append('|');
        }
        return (Encoding.Latin1.GetString(stored.ToArray()), ended, tooLarge, rest.ToString());
    }

    [Theory]
    [InlineData("a\r\nb\r\n.\r\n", "a\r\nb\r\n")]
    [InlineData(".\r\n", "")]
    [InlineData("a\n.\n", "a\r\n")]
    [InlineData("..x\r\n...\r\n..\r\n.\r\n", ".x\r\n..\r\n.\r\n")]
    [InlineData("a\rb\r\n.\r\n", "a\rb\r\n")]
    [InlineData("bare\nlf\r\n.\r\n", "bare\r\nlf\r\n")]
    [InlineData(".x\n..\n.\n", "x\r\n.\r\n")]
    [InlineData("a\r\n. \r\n.\r\n", "a\r\n \r\n")]
    [InlineData("a\r\n.\r\r\n.\r\n", "a\r\n\r\r\n")]
    public async Task Data_is_unstuffed_and_made_crlf(string wire, string stored)
    {
        foreach (int chunk in new[] { 1, 2, 3, 7, 4096 })
        {
            var got = await Receive(Encoding.Latin1.GetBytes(wire + "NEXT\r\n"), chunk);
            Assert.True(got.Ended);
            Assert.Equal(stored, got.Stored);
            Assert.Equal("NEXT|", got.After);   // what follows the end line stays for the command reader
        }
    }

    [Fact]
    public async Task Data_without_its_end_line_is_not_complete()
    {
        var got = await Receive("Subject: x\r\n\r\nhalf"u8.ToArray(), 3);
        Assert.False(got.Ended);
    }

    [Fact]
    public async Task Data_past_the_limit_is_read_to_its_end_but_not_kept()
    {
        var wire = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("0123456789\r\n", 100)) + ".\r\nQUIT\r\n");
        var got = await Receive(wire, 50, limit: 500);
        Assert.True(got.Ended);
        Assert.True(got.TooLarge);
        Assert.True(got.Stored.Length <= 500);
        Assert.Equal("QUIT|", got.After);
        var exact = await Receive(wire, 50, limit: 1200);
        Assert.False(exact.TooLarge);
        Assert.Equal(1200, exact.Stored.Length);
    }

    [Fact]
    public async Task Random_data_is_received_as_the_line_by_line_reference_received_it()
    {
        var random = new Random(5321);
        for (int i = 0; i < 400; i++)
        {
            var body = RandomLines(random, withEnd: true);
            long limit = random.Next(4) == 0 ? random.Next(1, 3000) : 0;
            var wire = Encoding.Latin1.GetBytes(body + ".\r\nQUIT\r\n");
            var expected = await ReferenceReceive(wire, limit);
            var got = await Receive(wire, random.Next(1, 300), limit);
            Assert.Equal(expected.Ended, got.Ended);
            Assert.Equal(expected.TooLarge, got.TooLarge);
            if (!expected.TooLarge) Assert.Equal(expected.Stored, got.Stored);
            Assert.Equal(expected.After, got.After);
        }
    }

    [Fact]
    public async Task Lines_longer_than_a_read_are_received_whole()
    {
        var longLine = "." + new string('x', 200_000);
        var wire = Encoding.ASCII.GetBytes("a\r\n" + longLine + "\r\n" + longLine + "\n.\r\n");
        var got = await Receive(wire, 8192);
        Assert.True(got.Ended);
        Assert.Equal((await ReferenceReceive(wire)).Stored, got.Stored);
    }

    // ----- forwarding ---------------------------------------------------------------------------------------

    /// <summary>The former CopyDotStuffedAsync, line by line (DATA: always dot-stuffed).</summary>
    private static async Task<string> ReferenceCopy(byte[] message, bool strip, byte[]? addition, byte[]? prefix, bool finalDot, byte[]? subjectPrefix)
    {
        bool added = addition is null || addition.Length == 0;
        bool subjectDone = subjectPrefix is null;
        using var reader = new SmtpLineReader(new MemoryStream(message), 64 * 1024 + 2);
        var output = new MemoryStream();
        if (prefix is not null) output.Write(prefix);
        bool lineStart = true, inHeader = true, skipping = false;
        while (true)
        {
            var line = await reader.ReadLineAsync(MaxDataChunk, allowPartial: true, default);
            if (line.Status == LineStatus.EndOfStream) break;
            var bytes = line.Bytes.ToArray().AsSpan();
            bool complete = line.Status == LineStatus.Line;
            if (lineStart && inHeader)
            {
                if (bytes.Length == 0)
                {
                    inHeader = false;
                    if (!subjectDone)
                    {
                        output.Write("Subject: "u8);
                        output.Write(subjectPrefix);
                        output.Write("\r\n"u8);
                        subjectDone = true;
                    }
                    if (!added)
                    {
                        output.Write(addition);
                        added = true;
                    }
                }
                else if (bytes[0] is (byte)' ' or (byte)'\t') { }
                else skipping = strip && bytes.Length >= 7 && Ascii.EqualsIgnoreCase(bytes[..7], "X-Assp-"u8);
            }
            if (!(inHeader && skipping))
            {
                if (lineStart && bytes.Length > 0 && bytes[0] == '.') output.Write("."u8);
                if (!subjectDone && lineStart && inHeader && bytes.Length >= 8 && Ascii.EqualsIgnoreCase(bytes[..8], "Subject:"u8))
                {
                    output.Write(bytes[..8]);
                    output.Write(" "u8);
                    output.Write(subjectPrefix);
                    var rest = bytes[8..];
                    if (rest.Length > 0 && rest[0] is not ((byte)' ' or (byte)'\t')) output.Write(" "u8);
                    bytes = rest;
                    subjectDone = true;
                }
                output.Write(bytes);
                if (complete) output.Write("\r\n"u8);
            }
            lineStart = complete;
        }
        if (!subjectDone)
        {
            if (!lineStart) output.Write("\r\n"u8);
            output.Write("Subject: "u8);
            output.Write(subjectPrefix);
            output.Write("\r\n"u8);
            lineStart = true;
        }
        if (!added)
        {
            if (!lineStart) output.Write("\r\n"u8);
            output.Write(addition);
            lineStart = true;
        }
        if (finalDot)
        {
            if (!lineStart) output.Write("\r\n"u8);
            output.Write(".\r\n"u8);
        }
        return Encoding.Latin1.GetString(output.ToArray());
    }

    private static async Task<string> ChunkedCopy(byte[] message, int chunk, bool strip, byte[]? addition, byte[]? prefix, bool finalDot, byte[]? subjectPrefix)
    {
        var target = new MemoryStream();
        await ProxySession.CopyDotStuffedAsync(new TrickleStream(message, chunk), target, strip, default, addition, prefix, finalDot, subjectPrefix);
        return Encoding.Latin1.GetString(target.ToArray());
    }

    /// <summary>The in-memory path of delivery: the whole message in one call.</summary>
    private static string WholeCopy(byte[] message, bool dotStuff, bool strip, byte[]? addition, byte[]? prefix, bool finalDot, byte[]? subjectPrefix)
    {
        using var output = new PooledOutput(16, headroom: 8);
        if (prefix is not null) output.Write(prefix);
        var writer = new OutboundMessage(strip, addition, subjectPrefix, dotStuff);
        Assert.Equal(message.Length, writer.Write(message, final: true, output));
        writer.Finish(output, finalDot);
        return Encoding.Latin1.GetString(output.WrittenMemory.Span);
    }

    /// <summary>Undoes dot-stuffing: what an MTA stores from DATA.</summary>
    private static string Unstuff(string wire) => string.Join("\r\n", wire.Split("\r\n").Select(l => l.StartsWith('.') ? l[1..] : l));

    [Fact]
    public async Task Header_replacements_change_header_lines_only()
    {
        (string, string)[] replacements = [("<id@x>", "<sig.1234abcdef.id@x>"), ("sig.9999abcdef.", "")];
        const string message = "Message-ID: <id@x>\r\nReferences: <a@b>\r\n <sig.9999abcdef.old@x>\r\n\r\nbody <id@x> stays\r\n";
        const string expected = "Message-ID: <sig.1234abcdef.id@x>\r\nReferences: <a@b>\r\n <old@x>\r\n\r\nbody <id@x> stays\r\n.\r\n";
        var target = new MemoryStream();
        await ProxySession.CopyDotStuffedAsync(new TrickleStream(Encoding.ASCII.GetBytes(message), 7), target, false, default,
            withFinalDot: true, headerReplacements: replacements);
        Assert.Equal(expected, Encoding.Latin1.GetString(target.ToArray()));
        using var output = new PooledOutput(16);
        var writer = new OutboundMessage(false, null, null, dotStuff: true, replacements);
        writer.Write(Encoding.ASCII.GetBytes(message), final: true, output);
        writer.Finish(output, withFinalDot: true);
        Assert.Equal(expected, Encoding.Latin1.GetString(output.WrittenMemory.Span));
    }

    [Fact]
    public async Task Dropped_fields_leave_with_their_continuation_lines_and_only_in_the_header()
    {
        const string message = "To: a@x\r\nBcc: b@y,\r\n c@z\r\nbcc : d@w\r\nBcc-Like: stays\r\nSubject: s\r\n\r\nBcc: body line stays\r\n";
        const string expected = "To: a@x\r\nBcc-Like: stays\r\nSubject: s\r\n\r\nBcc: body line stays\r\n.\r\n";
        var target = new MemoryStream();
        await ProxySession.CopyDotStuffedAsync(new TrickleStream(Encoding.ASCII.GetBytes(message), 5), target, false, default,
            withFinalDot: true, droppedFields: ["BCC"]);
        Assert.Equal(expected, Encoding.Latin1.GetString(target.ToArray()));
    }

    [Fact]
    public async Task Subject_tag_and_header_additions_go_where_assp_puts_them()
    {
        var addition = "X-Assp-ID: me\r\n"u8.ToArray();
        var tag = "[SPAM]"u8.ToArray();
        const string message = "From: a\r\nsubject:hello\r\nX-Assp-Old: 1\r\n\tmore\r\n\r\nSubject: body stays\r\n.dot\r\n";
        const string expected = "Received: x\r\nFrom: a\r\nsubject: [SPAM] hello\r\nX-Assp-ID: me\r\n\r\nSubject: body stays\r\n..dot\r\n.\r\n";
        var bytes = Encoding.ASCII.GetBytes(message);
        var prefix = "Received: x\r\n"u8.ToArray();
        Assert.Equal(expected, await ChunkedCopy(bytes, 5, true, addition, prefix, true, tag));
        Assert.Equal(expected, WholeCopy(bytes, true, true, addition, prefix, true, tag));
        // BDAT: the same message without dot-stuffing and without the final dot.
        Assert.Equal(expected[..^3].Replace("\n..dot", "\n.dot"), WholeCopy(bytes, false, true, addition, prefix, false, tag));
    }

    [Theory]
    [InlineData("From: a\r\nTo: b\r\n", "From: a\r\nTo: b\r\nSubject: [T]\r\nX-Add: 1\r\n.\r\n")]
    [InlineData("From: a\r\nTo: b", "From: a\r\nTo: b\r\nSubject: [T]\r\nX-Add: 1\r\n.\r\n")]
    [InlineData("", "Subject: [T]\r\nX-Add: 1\r\n.\r\n")]
    [InlineData("Subject: s\r\n\r\n", "Subject: [T] s\r\nX-Add: 1\r\n\r\n.\r\n")]
    public async Task A_message_without_a_body_gets_its_additions_at_the_end(string message, string expected)
    {
        var bytes = Encoding.ASCII.GetBytes(message);
        var addition = "X-Add: 1\r\n"u8.ToArray();
        var tag = "[T]"u8.ToArray();
        Assert.Equal(expected, WholeCopy(bytes, true, false, addition, null, true, tag));
        Assert.Equal(expected, await ChunkedCopy(bytes, 3, false, addition, null, true, tag));
    }

    [Fact]
    public async Task Random_messages_are_forwarded_as_the_line_by_line_reference_forwarded_them()
    {
        var random = new Random(2920);
        for (int i = 0; i < 400; i++)
        {
            var text = RandomHeader(random) + (random.Next(5) == 0 ? "" : "\r\n" + RandomLines(random, withEnd: true));
            var message = Encoding.Latin1.GetBytes(text);
            bool strip = random.Next(2) == 0, finalDot = random.Next(2) == 0;
            var addition = random.Next(3) == 0 ? null : "X-Assp-ID: proxy m1\r\nX-Assp-Session: 1\r\n"u8.ToArray();
            var tag = random.Next(3) == 0 ? "[SPAM]"u8.ToArray() : null;
            var prefix = random.Next(2) == 0 ? null : "Received: from x\r\n\tby y\r\n"u8.ToArray();
            var expected = await ReferenceCopy(message, strip, addition, prefix, finalDot, tag);
            Assert.Equal(expected, await ChunkedCopy(message, random.Next(1, 500), strip, addition, prefix, finalDot, tag));
            Assert.Equal(expected, WholeCopy(message, true, strip, addition, prefix, finalDot, tag));
            if (!finalDot) Assert.Equal(Unstuff(expected), WholeCopy(message, false, strip, addition, prefix, false, tag));
        }
    }

    [Fact]
    public async Task Over_long_header_and_body_lines_are_forwarded_whole()
    {
        var text = "X-Assp-Long: " + new string('h', 150_000) + "\r\nSubject: " + new string('s', 70_000) + "\r\n\r\n."
                   + new string('b', 200_000) + "\r\nend\r\n";
        var message = Encoding.ASCII.GetBytes(text);
        var tag = "[T]"u8.ToArray();
        var expected = await ReferenceCopy(message, true, null, null, true, tag);
        Assert.Equal(expected, await ChunkedCopy(message, 8192, true, null, null, true, tag));
        Assert.Equal(expected, await ChunkedCopy(message, 70_000, true, null, null, true, tag));
        Assert.Equal(expected, WholeCopy(message, true, true, null, null, true, tag));
    }

    [Fact]
    public void Bdat_headroom_takes_the_command_in_front()
    {
        using var output = new PooledOutput(4, headroom: 32);
        output.Write("message\r\n"u8);
        output.Prepend("BDAT 9 LAST\r\n"u8);
        Assert.Equal("BDAT 9 LAST\r\nmessage\r\n", Encoding.ASCII.GetString(output.WrittenMemory.Span));
    }

    // ----- random input -------------------------------------------------------------------------------------

    private static string RandomHeader(Random r)
    {
        var sb = new StringBuilder();
        string[] fields = ["From: a@b.example", "To: c@d.example", "Subject: hello", "subject:x", "X-Assp-Spam: yes", "x-assp-id: forged",
            "Received: from x", "\tby y", " folded", ".dotted: header", "X-Other: 1", "Subject:", "X-Assp-"];
        int n = r.Next(0, 12);
        for (int i = 0; i < n; i++) sb.Append(fields[r.Next(fields.Length)]).Append(r.Next(8) == 0 ? "\n" : "\r\n");
        return sb.ToString();
    }

    /// <summary>Lines with dots, bare LF, stray CR, empty lines, now and then a very long one; ends with a line end.</summary>
    private static string RandomLines(Random r, bool withEnd)
    {
        var sb = new StringBuilder();
        int n = r.Next(0, 40);
        for (int i = 0; i < n; i++)
        {
            switch (r.Next(12))
            {
                case 0: sb.Append('.'); break;
                case 1: sb.Append(".."); break;
                case 2: sb.Append(". "); break;
                case 3: sb.Append(".x"); break;
                case 4: sb.Append("a\rb"); break;
                case 5: break;
                case 6: sb.Append(r.Next(20) == 0 ? new string('L', r.Next(60_000, 140_000)) : "short"); break;
                default: sb.Append("line ").Append(i).Append(new string('z', r.Next(0, 90))); break;
            }
            sb.Append(r.Next(6) == 0 ? "\n" : r.Next(30) == 0 ? "\r\r\n" : "\r\n");
        }
        if (!withEnd && sb.Length > 0) sb.Length--;
        return sb.ToString();
    }

    /// <summary>Hands out at most a few bytes per read, like a slow network.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }
}
