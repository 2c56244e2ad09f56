using System.Globalization;
using System.Text;

namespace Assp.Smtp.Protocol;

/// <summary>An SMTP reply: a three-digit code and one or more text lines.</summary>
public sealed class SmtpReply
{
    public int Code { get; }
    public IReadOnlyList<string> Lines { get; }

    public SmtpReply(int code, IReadOnlyList<string> lines)
    {
        Code = code;
        Lines = lines.Count == 0 ? [""] : lines;
    }

    public bool IsPositive => Code is >= 200 and < 400;
    public bool IsSuccess => Code is >= 200 and < 300;
    public bool IsTransient => Code is >= 400 and < 500;
    public bool IsPermanent => Code >= 500;

    /// <summary>The reply as it goes on the wire: "250-a", "250 b", each line ending in CRLF.</summary>
    public string ToWire()
    {
        if (Lines.Count == 1) return string.Create(CultureInfo.InvariantCulture, $"{Code} {Lines[0]}\r\n");
        var sb = new StringBuilder();
        for (int i = 0; i < Lines.Count; i++)
        {
            sb.Append(Code).Append(i < Lines.Count - 1 ? '-' : ' ').Append(Lines[i]).Append("\r\n");
        }
        return sb.ToString();
    }

    /// <summary>First line with its code, for logs.</summary>
    public override string ToString() => $"{Code} {Lines[0]}";

    /// <summary>
    /// Parses a configured reply text ("554 5.7.1 go away"). Multi-line texts use "\r\n" or a literal "\r\n"
    /// between lines, each starting with the code. Returns null when there is no code.
    /// </summary>
    public static SmtpReply? ParseConfigured(string text)
    {
        var parts = text.Replace("\\r\\n", "\n").Replace("\r\n", "\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) return null;
        int code = 0;
        var lines = new List<string>();
        foreach (var p in parts)
        {
            if (p.Length < 3 || !int.TryParse(p.AsSpan(0, 3), out var c) || c < 200 || c > 599) return null;
            code = c;
            lines.Add(p.Length > 4 ? p[4..] : "");
        }
        return new SmtpReply(code, lines);
    }
}
