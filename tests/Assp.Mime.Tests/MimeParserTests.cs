using System.Text;
using static Assp.Mime.Tests.TestUtil;

namespace Assp.Mime.Tests;

public class MimeParserTests
{
    private const string Multipart = """
        From: a@example.com
        To: b@example.com
        Subject: test
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="XX"

        preamble
        --XX
        Content-Type: text/plain; charset=utf-8

        hello
        --XX
        Content-Type: application/pdf; name="doc.pdf"
        Content-Transfer-Encoding: base64

        JVBERi0xLjQ=
        --XX--
        epilogue
        """;

    [Fact]
    public void Simple_message_headers_and_body()
    {
        var m = Parse("From: a@example.com\nSubject: hi\n\nbody line\n");
        Assert.Equal(2, m.Headers.Count);
        Assert.Equal("hi", m.Subject);
        Assert.Equal("text/plain", m.Root.MimeType);
        Assert.Equal("body line\r\n", m.Root.GetText());
        Assert.Empty(m.Problems);
    }

    [Fact]
    public void Multipart_is_split_into_parts_with_exact_offsets()
    {
        var m = Parse(Multipart);
        var root = m.Root;
        Assert.True(root.IsMultipart);
        Assert.Equal(2, root.Children.Count);
        Assert.Equal("hello", root.Children[0].GetText());
        Assert.Equal("application/pdf", root.Children[1].MimeType);
        Assert.Equal("%PDF-1.4", Encoding.ASCII.GetString(root.Children[1].GetContentBytes().Span));
        Assert.Equal("doc.pdf", root.Children[1].FileName);
        Assert.Equal("Content-Type: text/plain; charset=utf-8\r\n", Str(root.Children[0].RawHeaders));
        Assert.Equal("hello", Str(root.Children[0].RawBody));
        Assert.EndsWith("--XX--\r\nepilogue", Str(root.RawBody));
        Assert.Single(m.TextParts);
        Assert.Single(m.Attachments);
        Assert.Empty(m.Problems);
        OffsetInvariants.Check(m);
    }

    [Fact]
    public void Nested_multipart_alternative_inside_mixed()
    {
        var m = Parse("""
            Content-Type: multipart/mixed; boundary=outer

            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/plain

            plain
            --inner
            Content-Type: text/html

            <b>html</b>
            --inner--
            --outer
            Content-Type: image/gif
            Content-Disposition: attachment; filename=a.gif

            GIF
            --outer--
            """);
        Assert.Equal(2, m.Root.Children.Count);
        var alt = m.Root.Children[0];
        Assert.Equal("multipart/alternative", alt.MimeType);
        Assert.Equal(["plain", "<b>html</b>"], alt.Children.Select(c => c.GetText()!).ToArray());
        Assert.Equal("a.gif", m.Attachments.Single().FileName);
        Assert.Empty(m.Problems);
    }

    [Fact]
    public void Missing_close_boundary_is_recorded_and_last_part_runs_to_the_end()
    {
        var m = Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n");
        Assert.Equal(2, m.Root.Children.Count);
        Assert.Equal("two\r\n", m.Root.Children[1].GetText());
        Assert.True(m.HasProblem(MimeProblemKind.MissingCloseBoundary));
    }

    [Fact]
    public void Outer_boundary_inside_an_unterminated_inner_multipart_ends_it()
    {
        var m = Parse("""
            Content-Type: multipart/mixed; boundary=outer

            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner

            inner part
            --outer

            second outer part
            --outer--
            """);
        Assert.Equal(2, m.Root.Children.Count);
        Assert.Equal("inner part", m.Root.Children[0].Children[0].GetText());
        Assert.Equal("second outer part", m.Root.Children[1].GetText());
        Assert.Single(m.Problems, p => p.Kind == MimeProblemKind.MissingCloseBoundary);
    }

    [Fact]
    public void Missing_boundary_parameter_keeps_body_opaque()
    {
        var m = Parse("Content-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n");
        Assert.False(m.Root.IsMultipart);
        Assert.True(m.HasProblem(MimeProblemKind.MissingBoundaryParameter));
        Assert.Empty(m.Attachments);
    }

    [Fact]
    public void Undeclared_boundary_never_found()
    {
        // "--other" has no close line, so nothing is guessed (see MimeRecoveryTests for guessing).
        var m = Parse("Content-Type: multipart/mixed; boundary=declared\n\n--other\n\nbody\n--other\n");
        Assert.False(m.Root.IsMultipart);
        Assert.True(m.HasProblem(MimeProblemKind.BoundaryNotFound));
        Assert.Contains("--other", Str(m.Root.RawBody));
    }

    [Fact]
    public void Boundary_with_trailing_whitespace_and_prefix_lookalikes()
    {
        var m = Parse("Content-Type: multipart/mixed; boundary=b\n\n--b  \n\none\n--bb\n--b-x\n--b--\t\n");
        Assert.Single(m.Root.Children);
        Assert.Equal("one\r\n--bb\r\n--b-x", m.Root.Children[0].GetText());
        Assert.Empty(m.Problems);
    }

    [Fact]
    public void Duplicate_boundary_in_nested_multipart_is_recorded()
    {
        var m = Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n--b--\n");
        Assert.True(m.HasProblem(MimeProblemKind.ReusedBoundary));
        OffsetInvariants.Check(m);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Any_line_ending_style_works(string eol)
    {
        var text = string.Join(eol, "Subject: x", "Content-Type: multipart/mixed; boundary=q", "", "--q", "Content-Type: text/plain", "", "a", "--q--", "");
        var m = MimeParser.Parse(Encoding.ASCII.GetBytes(text));
        Assert.Equal("x", m.Subject);
        Assert.Single(m.Root.Children);
        Assert.Equal("a", m.Root.Children[0].GetText());
        Assert.Equal(eol == "\r", m.HasProblem(MimeProblemKind.BareCarriageReturn));
        Assert.Equal(Encoding.ASCII.GetBytes(text), new MimeWriter(m).ToArray());
    }

    [Fact]
    public void Header_only_message()
    {
        var m = Parse("From: a@b.c\nSubject: only headers", lf: true);
        Assert.Equal(2, m.Headers.Count);
        Assert.Equal("only headers", m.Subject);
        Assert.Equal(0, m.Root.RawBody.Length);
        Assert.True(m.HasProblem(MimeProblemKind.HeaderOnlyMessage));
    }

    [Fact]
    public void Empty_input_and_garbage_do_not_throw()
    {
        Assert.Empty(MimeParser.Parse(Array.Empty<byte>()).Headers);
        var m = MimeParser.Parse(Encoding.ASCII.GetBytes("this is not a message at all\n"));
        Assert.Empty(m.Headers);
        Assert.True(m.HasProblem(MimeProblemKind.InvalidHeaderLine));
        Assert.True(m.HasProblem(MimeProblemKind.NoHeaders));
        Assert.Equal("this is not a message at all\n", Str(m.Root.RawBody));
    }

    [Fact]
    public void Invalid_header_line_starts_the_body()
    {
        var m = Parse("Subject: a\nthis line has no colon\nX-Foo: bar\n\nbody\n");
        Assert.Single(m.Headers);
        Assert.StartsWith("this line has no colon", Str(m.Root.RawBody));
        Assert.True(m.HasProblem(MimeProblemKind.InvalidHeaderLine));
    }

    [Fact]
    public void Obsolete_space_before_colon_is_accepted()
    {
        var m = Parse("Subject : spaced\n\nx");
        Assert.Equal("spaced", m.Headers["Subject"]);
    }

    [Fact]
    public void Nul_bytes_and_eight_bit_headers_are_recorded()
    {
        var bytes = Encoding.Latin1.GetBytes("Subject: caf\u00e9\n\nbo\0dy\n");
        var m = MimeParser.Parse(bytes);
        Assert.Equal("café", m.Subject);
        Assert.True(m.HasProblem(MimeProblemKind.NulBytes));
        Assert.True(m.HasProblem(MimeProblemKind.EightBitHeader));
    }

    [Fact]
    public void Utf8_headers_are_not_a_problem()
    {
        var m = MimeParser.Parse(Encoding.UTF8.GetBytes("Subject: Grüße\nFrom: Jörg <jörg@bücher.de>\n\nx"));
        Assert.Equal("Grüße", m.Subject);
        Assert.Equal("jörg@bücher.de", m.From[0].Address);
        Assert.False(m.HasProblem(MimeProblemKind.EightBitHeader));
    }

    [Fact]
    public void Mbox_from_line_is_skipped_but_kept_in_bytes()
    {
        var text = "From someone@example.com Mon Jan  1 00:00:00 2001\nSubject: x\n\nbody";
        var m = MimeParser.Parse(Bytes(text));
        Assert.Equal("x", m.Subject);
        Assert.True(m.Start > 0);
        Assert.Equal(Bytes(text), new MimeWriter(m).ToArray());
    }

    [Fact]
    public void Embedded_message_rfc822_is_parsed_in_place()
    {
        var m = Parse("""
            Content-Type: multipart/mixed; boundary=b

            --b
            Content-Type: text/plain

            see attached
            --b
            Content-Type: message/rfc822

            Subject: inner
            From: x@y.z
            Content-Type: multipart/alternative; boundary=c

            --c
            Content-Type: text/plain

            inner text
            --c--
            --b--
            """);
        var part = m.Root.Children[1];
        var inner = part.EmbeddedMessage;
        Assert.NotNull(inner);
        Assert.Equal("inner", inner.Subject);
        Assert.Same(part, inner.Container);
        Assert.Equal("inner text", inner.Root.Children[0].GetText());
        Assert.Equal(["see attached", "inner text"], m.TextParts.Select(t => t.GetText()!).ToArray());
        Assert.Empty(m.Problems);
        OffsetInvariants.Check(m);
    }

    [Fact]
    public void Base64_encoded_message_rfc822_is_decoded_and_parsed()
    {
        var inner = Convert.ToBase64String(Bytes("Subject: hidden\r\n\r\nsecret body\r\n"));
        var m = Parse($"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{inner}\n");
        Assert.Equal("hidden", m.Root.EmbeddedMessage!.Subject);
        Assert.True(m.HasProblem(MimeProblemKind.EncodedCompositeBody));
        Assert.Equal(Encoding.UTF8.GetBytes($"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{inner}\r\n"), new MimeWriter(m).ToArray());
    }

    [Fact]
    public void Digest_parts_default_to_message_rfc822()
    {
        var m = Parse("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d--\n");
        Assert.Equal("message/rfc822", m.Root.Children[0].MimeType);
        Assert.Equal("one", m.Root.Children[0].EmbeddedMessage!.Subject);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_becomes_opaque()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 100; i++) sb.Append($"Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n");
        sb.Append("Content-Type: text/plain\n\ndeep\n");
        var m = Parse(sb.ToString(), lf: true, new MimeParserOptions { MaxDepth = 10 });
        Assert.True(m.HasProblem(MimeProblemKind.NestingTooDeep));
        Assert.True(m.Entities.Max(e => e.Depth) <= 10);
        Assert.Equal(Bytes(sb.ToString()), new MimeWriter(m).ToArray());
    }

    [Fact]
    public void Header_block_limit_turns_the_rest_into_body()
    {
        var big = "X-Big: " + new string('a', 5000) + "\n";
        var m = Parse("Subject: s\n" + big + big + "\nbody", lf: true, new MimeParserOptions { MaxHeaderBlockBytes = 6000 });
        Assert.True(m.HasProblem(MimeProblemKind.HeaderBlockTooLarge));
        Assert.Equal(2, m.Headers.Count);
    }

    [Fact]
    public void Header_count_limit()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 50; i++) sb.Append($"X-H{i}: v\n");
        var m = Parse(sb + "\nbody", lf: true, new MimeParserOptions { MaxHeaderCount = 10 });
        Assert.Equal(10, m.Headers.Count);
        Assert.True(m.HasProblem(MimeProblemKind.TooManyHeaders));
    }

    [Fact]
    public void Duplicate_singleton_headers_are_recorded()
    {
        var m = Parse("From: a@b.c\nSubject: one\nSubject: two\n\nx");
        Assert.Equal("one", m.Subject);
        Assert.Contains(m.Problems, p => p.Kind == MimeProblemKind.DuplicateHeader && p.Detail == "Subject");
    }

    [Fact]
    public void Part_without_headers_and_part_with_body_but_no_blank_line()
    {
        var m = Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nno headers\n--b\nstraight into text\n--b--\n");
        Assert.Equal(2, m.Root.Children.Count);
        Assert.Empty(m.Root.Children[0].Headers);
        Assert.Equal("no headers", m.Root.Children[0].GetText());
        Assert.Equal("straight into text", m.Root.Children[1].GetText());
    }

    [Fact]
    public void Empty_parts_and_boundary_directly_after_headers()
    {
        var m = Parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\nContent-Type: text/plain\n--b--\n");
        Assert.Equal(2, m.Root.Children.Count);
        Assert.Equal("", m.Root.Children[0].GetText());
        Assert.Equal("text/plain", m.Root.Children[1].MimeType);
        OffsetInvariants.Check(m);
    }

    [Fact]
    public void Encoded_multipart_is_still_split()
    {
        var m = Parse("Content-Type: multipart/alternative; boundary=b\nContent-Transfer-Encoding: quoted-printable\n\n--b\n\nx\n--b--\n");
        Assert.Single(m.Root.Children);
        Assert.True(m.HasProblem(MimeProblemKind.EncodedCompositeBody));
    }

    [Fact]
    public async Task ParseAsync_reads_a_stream_once()
    {
        var bytes = Bytes("Subject: async\r\n\r\nbody");
        using var ms = new MemoryStream(bytes);
        var m = await MimeParser.ParseAsync(ms);
        Assert.Equal("async", m.Subject);
        Assert.Equal(bytes, m.Source.ToArray());
    }

    [Fact]
    public async Task ParseAsync_bounds_the_buffer()
    {
        var bytes = Bytes("Subject: big\r\n\r\n" + new string('x', 10000));
        using var ms = new NonSeekable(bytes);
        var m = await MimeParser.ParseAsync(ms, new MimeParserOptions { MaxMessageBytes = 1000 });
        Assert.Equal(1000, m.Source.Length);
        Assert.True(m.HasProblem(MimeProblemKind.MessageTruncated));
    }

    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public void Uuencode_transfer_encoding_is_decoded()
    {
        var uu = Uuencode.Encode(Bytes("hello uu"), "h.txt");
        var m = Parse("Content-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode\n\n" + uu, lf: true);
        Assert.Equal("hello uu", Encoding.ASCII.GetString(m.Root.GetContentBytes().Span));
    }

    [Fact]
    public void Unknown_transfer_encoding_is_recorded()
    {
        var m = Parse("Content-Transfer-Encoding: x-weird\n\nbody");
        Assert.Equal(ContentEncoding.Unknown, m.Root.ContentTransferEncoding);
        Assert.True(m.HasProblem(MimeProblemKind.UnknownTransferEncoding));
        Assert.Equal("body", m.Root.GetText());
    }
}
