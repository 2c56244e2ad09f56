using System.Text;

namespace Assp.Mime.Tests;

internal static class TestUtil
{
    /// <summary>Parses text written with \n line ends, converted to CRLF unless lf is true.</summary>
    public static MimeMessage Parse(string text, bool lf = false, MimeParserOptions? options = null)
    {
        var t = lf ? text : text.Replace("\r\n", "\n").Replace("\n", "\r\n");
        return MimeParser.Parse(Encoding.UTF8.GetBytes(t), options);
    }

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    public static string Str(ReadOnlyMemory<byte> m) => Encoding.UTF8.GetString(m.Span);
}
