using System.Text;

namespace Assp.Mime.Conversion;

/// <summary>Quoted-printable encoding (RFC 2045 6.7): lines of at most 76 characters, line breaks kept as hard breaks.</summary>
public static class QuotedPrintable
{
    private const int MaxLine = 76;

    /// <summary>Encodes <paramref name="bytes"/>; CRLF and bare LF in the data become <paramref name="eol"/>.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes, string eol = "\r\n")
    {
        var sb = new StringBuilder(bytes.Length + bytes.Length / 4);
        int col = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            byte b = bytes[i];
            if (b == (byte)'\n' || (b == (byte)'\r' && i + 1 < bytes.Length && bytes[i + 1] == (byte)'\n'))
            {
                if (b == (byte)'\r') i++;
                sb.Append(eol);
                col = 0;
                continue;
            }
            bool lineEndsHere = i + 1 == bytes.Length || bytes[i + 1] == (byte)'\n' || (bytes[i + 1] == (byte)'\r' && i + 2 < bytes.Length && bytes[i + 2] == (byte)'\n');
            // Blanks are literal except at the end of a line, where transport may strip them.
            bool literal = (b >= 33 && b <= 126 && b != (byte)'=') || ((b == (byte)' ' || b == (byte)'\t') && !lineEndsHere);
            int width = literal ? 1 : 3;
            // Leave room for the soft break '=' unless this is the last character of the line.
            if (col + width > (lineEndsHere ? MaxLine : MaxLine - 1))
            {
                sb.Append('=').Append(eol);
                col = 0;
            }
            if (literal) sb.Append((char)b);
            else sb.Append('=').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            col += width;
        }
        return sb.ToString();
    }
}
