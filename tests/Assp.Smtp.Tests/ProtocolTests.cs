using System.Net;
using System.Text;
using Assp.Smtp.Protocol;
using Assp.Smtp.Session;

namespace Assp.Smtp.Tests;

public class SmtpPathTests
{
    [Theory]
    [InlineData("FROM:<a@b.example>", "a@b.example")]
    [InlineData("from: <a@b.example> SIZE=100", "a@b.example")]
    [InlineData("FROM:<>", "")]
    [InlineData("FROM:a@b.example", "a@b.example")]
    [InlineData("FROM:<\"odd > name\"@b.example>", "\"odd > name\"@b.example")]
    public void Mail_from_forms(string argument, string address)
    {
        var path = SmtpPath.Parse(argument, "FROM", out var error);
        Assert.True(path is not null, error);
        Assert.Equal(address, path!.Address);
    }

    [Fact]
    public void Parameters_are_read_case_insensitively()
    {
        var path = SmtpPath.Parse("FROM:<a@b> size=42 BODY=8BITMIME", "FROM", out _)!;
        Assert.Equal("42", path.Parameters["SIZE"]);
        Assert.Equal("8BITMIME", path.Parameters["body"]);
    }

    [Fact]
    public void Source_routes_are_split_off_and_the_final_address_counts()
    {
        var path = SmtpPath.Parse("TO:<@relay.example,@other.example:user@victim.example>", "TO", out _)!;
        Assert.Equal("user@victim.example", path.Address);
        Assert.Equal("@relay.example,@other.example", path.SourceRoute);
        Assert.Equal("victim.example", path.Domain);
    }

    [Theory]
    [InlineData("TO:<user%victim.example@local.example>", true)]
    [InlineData("TO:<victim.example!user@local.example>", true)]
    [InlineData("TO:<\"user@victim.example\"@local.example>", true)]
    [InlineData("TO:<user@local.example>", false)]
    public void Routing_local_parts_are_recognised(string argument, bool routing)
    {
        var path = SmtpPath.Parse(argument, "TO", out _)!;
        Assert.Equal("local.example", path.Domain);
        Assert.Equal(routing, path.HasRoutingLocalPart);
    }

    [Theory]
    [InlineData("TO<a@b>")]
    [InlineData("TO:<a@b")]
    [InlineData("TO:<a b@c>")]
    [InlineData("TO:<@route>")]
    public void Malformed_paths_are_refused(string argument) => Assert.Null(SmtpPath.Parse(argument, "TO", out _));
}

public class LineReaderTests
{
    private static SmtpLineReader Reader(string text, int chunk = 3) => new(new TrickleStream(Encoding.ASCII.GetBytes(text), chunk), 16);

    [Fact]
    public async Task Lines_end_in_crlf_or_bare_lf()
    {
        using var reader = Reader("EHLO a\r\nNOOP\nQUIT\r\n");
        Assert.Equal("EHLO a", Encoding.ASCII.GetString((await reader.ReadLineAsync(100, false, default)).Bytes.Span));
        var noop = await reader.ReadLineAsync(100, false, default);
        Assert.True(noop.BareLf);
        Assert.Equal("QUIT", Encoding.ASCII.GetString((await reader.ReadLineAsync(100, false, default)).Bytes.Span));
        Assert.Equal(LineStatus.EndOfStream, (await reader.ReadLineAsync(100, false, default)).Status);
    }

    [Fact]
    public async Task Over_long_commands_are_reported_and_skipped_whole()
    {
        using var reader = Reader(new string('x', 5000) + "\r\nNOOP\r\n", 100);
        Assert.Equal(LineStatus.TooLong, (await reader.ReadLineAsync(512, false, default)).Status);
        Assert.Equal("NOOP", Encoding.ASCII.GetString((await reader.ReadLineAsync(512, false, default)).Bytes.Span));
    }

    [Fact]
    public async Task Long_data_lines_come_in_pieces_without_losing_bytes()
    {
        var longLine = string.Concat(Enumerable.Range(0, 300).Select(i => (char)('a' + i % 26)));
        using var reader = Reader(longLine + "\r\n.\r\n", 7);
        var sb = new StringBuilder();
        LineResult r;
        do
        {
            r = await reader.ReadLineAsync(64, true, default);
            sb.Append(Encoding.ASCII.GetString(r.Bytes.Span));
        } while (r.Status == LineStatus.Partial);
        Assert.Equal(LineStatus.Line, r.Status);
        Assert.Equal(longLine, sb.ToString());
        Assert.Equal(".", Encoding.ASCII.GetString((await reader.ReadLineAsync(64, true, default)).Bytes.Span));
    }

    [Fact]
    public async Task Pipelined_lines_are_visible_as_buffered()
    {
        using var reader = new SmtpLineReader(new MemoryStream("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n"u8.ToArray()));
        await reader.ReadLineAsync(512, false, default);
        Assert.True(reader.HasBufferedLine);
        await reader.ReadLineAsync(512, false, default);
        Assert.False(reader.HasBufferedLine);
    }

    /// <summary>Hands out at most a few bytes per read, like a slow network.</summary>
    private sealed class TrickleStream(byte[] data, int chunk) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(chunk, buffer.Length)], cancellationToken);
    }
}

public class DataCopyTests
{
    private static async Task<string> Copy(string message, bool strip)
    {
        var target = new MemoryStream();
        await ProxySession.CopyDotStuffedAsync(new MemoryStream(Encoding.UTF8.GetBytes(message)), target, strip, default);
        return Encoding.UTF8.GetString(target.ToArray());
    }

    [Fact]
    public async Task Lines_starting_with_a_dot_are_stuffed()
    {
        Assert.Equal("Subject: x\r\n\r\n..hidden\r\n...\r\nend\r\n", await Copy("Subject: x\r\n\r\n.hidden\r\n..\r\nend\r\n", false));
    }

    [Fact]
    public async Task Incoming_x_assp_headers_are_removed_with_their_continuations_but_not_from_the_body()
    {
        var message = "From: a\r\nX-Assp-Spam-Prob: 0.00\r\n\tcontinued\r\nx-assp-whitelisted: Yes\r\nSubject: s\r\n\r\nX-Assp-ID: in body stays\r\n";
        Assert.Equal("From: a\r\nSubject: s\r\n\r\nX-Assp-ID: in body stays\r\n", await Copy(message, true));
        Assert.Equal(message, await Copy(message, false));
    }

    [Fact]
    public async Task Large_messages_are_copied_exactly()
    {
        var body = string.Concat(Enumerable.Range(0, 20000).Select(i => $"line {i} {new string('z', i % 90)}\r\n"));
        var message = "Subject: big\r\n\r\n" + body + new string('q', 200_000) + "\r\n";
        Assert.Equal(message, await Copy(message, true));
    }
}

public class AddressClassTests
{
    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.1.2.3", true)]
    [InlineData("172.16.0.1", true)]
    [InlineData("172.32.0.1", false)]
    [InlineData("192.168.1.1", true)]
    [InlineData("8.8.8.8", false)]
    [InlineData("fd00::1", true)]
    [InlineData("2001:db8::1", false)]
    [InlineData("::1", true)]
    public void Private_addresses_for_AUTHrequireTLS(string ip, bool isPrivate) =>
        Assert.Equal(isPrivate, ProxySession.IsPrivate(IPAddress.Parse(ip)));

    [Fact]
    public void Configured_replies_parse_single_and_multi_line()
    {
        var one = SmtpReply.ParseConfigured("554 5.7.1 go away")!;
        Assert.Equal(554, one.Code);
        Assert.Equal("554 5.7.1 go away\r\n", one.ToWire());
        var multi = SmtpReply.ParseConfigured("220-first\\r\\n220 second")!;
        Assert.Equal("220-first\r\n220 second\r\n", multi.ToWire());
        Assert.Null(SmtpReply.ParseConfigured("no code here"));
    }
}
