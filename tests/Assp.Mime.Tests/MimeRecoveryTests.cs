using System.Text;
using static Assp.Mime.Tests.TestUtil;

namespace Assp.Mime.Tests;

/// <summary>Mangled multiparts: guessed boundaries and transfer-encoded multipart bodies.</summary>
public class MimeRecoveryTests
{
    private static byte[] Crlf(string s) => Bytes(s.Replace("\r\n", "\n").Replace("\n", "\r\n"));

    private static void RoundTrips(string text)
    {
        var bytes = Crlf(text);
        var m = MimeParser.Parse(bytes);
        Assert.Equal(bytes, new MimeWriter(m).ToArray());
        OffsetInvariants.Check(m);
    }

    // ---- guessed boundaries ------------------------------------------------------------------

    [Fact]
    public void Boundary_missing_from_the_body_is_guessed_from_delimiter_lines()
    {
        const string text = """
            Subject: mangled
            Content-Type: multipart/alternative; boundary="----=_NextPart_000_0001"

            This is a multi-part message in MIME format.
            ------=_NextPart_000_0002
            Content-Type: text/plain

            plain text
            ------=_NextPart_000_0002
            Content-Type: text/html

            <b>html</b>
            ------=_NextPart_000_0002--
            """;
        var m = Parse(text);
        Assert.True(m.Root.IsMultipart);
        Assert.Equal(["plain text", "<b>html</b>"], m.Root.Children.Select(c => c.GetText()!).ToArray());
        var p = Assert.Single(m.Problems, p => p.Kind == MimeProblemKind.BoundaryGuessed);
        Assert.Contains("----=_NextPart_000_0002", p.Detail);
        Assert.False(m.HasProblem(MimeProblemKind.BoundaryNotFound));
        Assert.StartsWith("------=_NextPart_000_0002\r\n", Str(m.Source[p.Offset..]));
        Assert.Equal("----=_NextPart_000_0002", m.Root.SplitBoundary);
        Assert.Equal("----=_NextPart_000_0001", m.Root.ContentType.Boundary);
        RoundTrips(text);
    }

    [Fact]
    public void The_first_opening_line_with_a_later_close_wins()
    {
        // "--junk" has no close line; "--real" has one; a later "--other" pair is just text inside a part.
        var m = Parse("Content-Type: multipart/mixed; boundary=declared\n\n--junk\n--real\n\none\n--other\n--other--\n--real\n\ntwo\n--real--\n");
        Assert.Equal(2, m.Root.Children.Count);
        Assert.Equal("one\r\n--other\r\n--other--", m.Root.Children[0].GetText());
        Assert.Equal("two", m.Root.Children[1].GetText());
        Assert.StartsWith("--junk", Str(m.Root.RawBody));
    }

    [Theory]
    [InlineData("--------\n\nbody\n----------\n")]           // rows of dashes
    [InlineData("--other\n\nbody\n--other\n")]               // no close line
    [InlineData("--x--\n--x\n\nbody\n--x--\n")]              // a close line before the first opening one
    [InlineData("text\n -- x\n\nbody\n -- x--\n")]           // not at the start of a line
    [InlineData("--caf\u00e9\n\nbody\n--caf\u00e9--\n")]     // 8-bit token
    public void Nothing_boundary_like_stays_opaque(string body)
    {
        var m = Parse("Content-Type: multipart/mixed; boundary=declared\n\n" + body);
        Assert.False(m.Root.IsMultipart);
        Assert.True(m.HasProblem(MimeProblemKind.BoundaryNotFound));
        Assert.False(m.HasProblem(MimeProblemKind.BoundaryGuessed));
    }

    [Fact]
    public void Guess_in_a_nested_multipart_stops_at_the_outer_boundary()
    {
        const string text = """
            Content-Type: multipart/mixed; boundary=outer

            --outer
            Content-Type: multipart/alternative; boundary=WRONG

            --inner
            Content-Type: text/plain

            a
            --inner
            Content-Type: text/html

            b
            --inner--
            --outer
            Content-Type: application/zip; name=x.zip

            PK
            --outer--
            """;
        var m = Parse(text);
        Assert.Equal(2, m.Root.Children.Count);
        var alt = m.Root.Children[0];
        Assert.Equal(["a", "b"], alt.Children.Select(c => c.GetText()!).ToArray());
        Assert.Equal("x.zip", m.Root.Children[1].FileName);
        Assert.True(m.HasProblem(MimeProblemKind.BoundaryGuessed));
        Assert.False(m.HasProblem(MimeProblemKind.MissingCloseBoundary));
        RoundTrips(text);
    }

    [Fact]
    public void An_outer_close_line_is_not_taken_for_a_nested_guess()
    {
        // The nested multipart has nothing boundary-like before the outer delimiter: it stays opaque.
        var m = Parse("Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/mixed; boundary=x\n\nno parts\n--outer--\n");
        var inner = Assert.Single(m.Root.Children);
        Assert.False(inner.IsMultipart);
        Assert.Equal("no parts", inner.GetText() ?? Str(inner.RawBody));
        Assert.True(m.HasProblem(MimeProblemKind.BoundaryNotFound));
    }

    [Fact]
    public void Well_formed_multiparts_never_guess()
    {
        var rnd = new Random(7);
        for (int n = 0; n < 200; n++)
        {
            var sb = new StringBuilder($"Content-Type: multipart/mixed; boundary=\"b{n}\"\n\npreamble\n--x{n}\n");
            int parts = rnd.Next(1, 4);
            for (int i = 0; i < parts; i++)
                sb.Append($"--b{n}\nContent-Type: text/plain\n\n--looks{i}\n--looks{i}--\n");
            sb.Append($"--b{n}--\nepilogue\n");
            var m = Parse(sb.ToString());
            Assert.Equal(parts, m.Root.Children.Count);
            Assert.Empty(m.Problems);
        }
    }

    // ---- transfer-encoded multiparts ------------------------------------------------------------

    private const string Inner = "--b\nContent-Type: text/plain\n\nhidden text\n--b\nContent-Type: application/octet-stream; name=\"evil.exe\"\nContent-Transfer-Encoding: base64\n\nTVqQAA==\n--b--\n";

    [Fact]
    public void Base64_multipart_is_decoded_and_its_parts_flagged()
    {
        string b64 = Convert.ToBase64String(Bytes(Inner), Base64FormattingOptions.InsertLineBreaks);
        string text = $"Subject: s\nContent-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n{b64}\n";
        var bytes = Crlf(text);
        var m = MimeParser.Parse(bytes);
        var root = m.Root;
        Assert.True(root.IsMultipart);
        Assert.True(root.HasDecodedParts);
        Assert.False(root.IsInDecodedContent);
        Assert.Equal(2, root.Children.Count);
        Assert.All(root.Children, c => Assert.True(c.IsInDecodedContent));
        Assert.Equal("hidden text", root.Children[0].GetText());
        Assert.Equal("evil.exe", root.Children[1].FileName);
        Assert.Equal(new byte[] { 0x4D, 0x5A, 0x90, 0 }, root.Children[1].GetContentBytes().ToArray());
        // The parts' offsets are into the decoded body, which is where their Source points.
        Assert.True(root.Children[0].Source.Span.SequenceEqual(root.GetContentBytes().Span));
        Assert.Equal("Content-Type: text/plain\n", Str(root.Children[0].RawHeaders));
        Assert.True(m.HasProblem(MimeProblemKind.EncodedCompositeBody));
        Assert.Contains(m.TextParts, t => t.GetText() == "hidden text");
        Assert.Equal("evil.exe", Assert.Single(m.Attachments).FileName);
        Assert.Equal(bytes, new MimeWriter(m).ToArray());
        OffsetInvariants.Check(m);
    }

    [Fact]
    public void Quoted_printable_multipart_with_escaped_boundary()
    {
        // "=" in the boundary is "=3D" once encoded, so the raw body has no delimiter line.
        string text = "Content-Type: multipart/alternative; boundary=\"=_b\"\nContent-Transfer-Encoding: quoted-printable\n\n" +
                      "--=3D_b\nContent-Type: text/plain\n\nsoft=\n break\n--=3D_b--\n";
        var m = Parse(text);
        Assert.True(m.Root.HasDecodedParts);
        var part = Assert.Single(m.Root.Children);
        Assert.Equal("soft break", part.GetText());
        Assert.Equal("=_b", m.Root.SplitBoundary);
        Assert.True(part.IsInDecodedContent);
        Assert.False(m.HasProblem(MimeProblemKind.BoundaryNotFound));
        RoundTrips(text);
    }

    [Fact]
    public void Encoded_multipart_with_plain_parts_is_parsed_in_place()
    {
        var m = Parse("Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n--b\n\nplain\n--b--\n");
        Assert.False(m.Root.HasDecodedParts);
        Assert.False(Assert.Single(m.Root.Children).IsInDecodedContent);
        Assert.True(m.HasProblem(MimeProblemKind.EncodedCompositeBody));
    }

    [Fact]
    public void Decoded_body_with_a_mangled_boundary_is_guessed_too()
    {
        string b64 = Convert.ToBase64String(Bytes("--real\n\ninside\n--real--\n"));
        var m = Parse($"Content-Type: multipart/mixed; boundary=declared\nContent-Transfer-Encoding: base64\n\n{b64}\n");
        Assert.True(m.Root.HasDecodedParts);
        Assert.Equal("inside", Assert.Single(m.Root.Children).GetText());
        Assert.Contains(m.Problems, p => p.Kind == MimeProblemKind.BoundaryGuessed && p.Detail!.Contains("decoded", StringComparison.Ordinal));
    }

    [Fact]
    public void Encoded_multipart_without_parts_even_decoded_stays_opaque()
    {
        string b64 = Convert.ToBase64String(Bytes("just text\n"));
        var m = Parse($"Content-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n{b64}\n");
        Assert.False(m.Root.IsMultipart);
        Assert.False(m.Root.HasDecodedParts);
        Assert.True(m.HasProblem(MimeProblemKind.BoundaryNotFound));
    }

    [Fact]
    public void Encoded_multipart_inside_a_part_does_not_disturb_the_outer_parts()
    {
        string b64 = Convert.ToBase64String(Bytes(Inner), Base64FormattingOptions.InsertLineBreaks).Replace("\r\n", "\n");
        string text = $"Content-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/mixed; boundary=b\nContent-Transfer-Encoding: base64\n\n{b64}\n--outer\nContent-Type: text/plain\n\nafter\n--outer--\n";
        var m = Parse(text);
        Assert.Equal(2, m.Root.Children.Count);
        Assert.True(m.Root.Children[0].HasDecodedParts);
        Assert.Equal(2, m.Root.Children[0].Children.Count);
        Assert.Equal("after", m.Root.Children[1].GetText());
        Assert.False(m.Root.Children[1].IsInDecodedContent);
        Assert.Equal(["hidden text", "after"], m.TextParts.Select(t => t.GetText()!).ToArray());
        RoundTrips(text);
    }

    [Fact]
    public void Entities_of_a_base64_message_rfc822_are_flagged_as_decoded()
    {
        var inner = Convert.ToBase64String(Bytes("Subject: hidden\r\n\r\nsecret body\r\n"));
        var m = Parse($"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{inner}\n");
        var embedded = m.Root.EmbeddedMessage!;
        Assert.True(embedded.IsInDecodedContent);
        Assert.True(embedded.Root.IsInDecodedContent);
        Assert.False(m.Root.IsInDecodedContent);
    }

    [Fact]
    public void Nested_encoding_layers_are_bounded_by_the_depth_limit()
    {
        // Each layer is a base64 multipart whose only part is the next layer.
        string body = "--b0\n\ncore\n--b0--\n";
        for (int i = 1; i <= 30; i++)
        {
            string b64 = Convert.ToBase64String(Bytes(body));
            body = $"--b{i}\nContent-Type: multipart/mixed; boundary=b{i - 1}\nContent-Transfer-Encoding: base64\n\n{b64}\n--b{i}--\n";
        }
        var m = Parse("Content-Type: multipart/mixed; boundary=b30\n\n" + body, lf: true, new MimeParserOptions { MaxDepth = 12 });
        Assert.True(m.HasProblem(MimeProblemKind.NestingTooDeep));
        Assert.True(m.Entities.Max(e => e.Depth) <= 12);
        Assert.True(m.Entities.Count(e => e.HasDecodedParts) >= 5);
        var shallow = Parse("Content-Type: multipart/mixed; boundary=b30\n\n" + body, lf: true);
        Assert.Equal("core", shallow.TextParts.Single().GetText());
    }
}
