using System.Text;
using Assp.Config.Regexes;

namespace Assp.Smtp.Session;

/// <summary>
/// preHeaderRe: every line an incoming client sends before the end of the message header (the commands, then the
/// header lines as they arrive in DATA) is tested at once, before the rest is read. It exists to stop content
/// that could wedge a parser; a match means 421 and the connection is dropped. Relayed (local) mail is not checked.
/// </summary>
internal sealed class PreHeaderScanner(RegexList regex)
{
    private int _checked;

    /// <summary>The blank line after the header has been seen: nothing more is tested for this message.</summary>
    public bool HeaderPassed { get; private set; }

    public static PreHeaderScanner? For(Assp.Config.ConfigSnapshot cfg) =>
        cfg.GetRegex("preHeaderRe") is { Count: > 0 } re ? new PreHeaderScanner(re) : null;

    /// <summary>Tests one command line; the matching text, or null.</summary>
    public string? CheckLine(string line) => regex.Match(line + "\r\n");

    /// <summary>Tests the complete header lines stored since the last call; the matching text, or null.</summary>
    public string? CheckStored(ReadOnlySpan<byte> stored)
    {
        while (!HeaderPassed && _checked < stored.Length)
        {
            var rest = stored[_checked..];
            int lf = rest.IndexOf((byte)'\n');
            if (lf < 0) return null;
            var line = rest[..(lf + 1)];
            _checked += lf + 1;
            if (line.SequenceEqual("\r\n"u8) || line.SequenceEqual("\n"u8))
            {
                HeaderPassed = true;
                return null;
            }
            if (regex.Match(Encoding.Latin1.GetString(line)) is { } hit) return hit;
        }
        return null;
    }
}
