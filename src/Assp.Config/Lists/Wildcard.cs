using System.Text;

namespace Assp.Config.Lists;

/// <summary>ASSP's list wildcards: '*' up to 64 characters (ASSP's bound), '?' one character; \x2A and \x3F are literal.</summary>
internal static class Wildcard
{
    public static bool Has(string s) => s.Contains('*') || s.Contains('?');

    /// <summary>Appends a regex fragment for a wildcard entry (escaped, case handled by the caller).</summary>
    public static void AppendRegex(StringBuilder sb, string entry)
    {
        for (int i = 0; i < entry.Length; i++)
        {
            char c = entry[i];
            if (c == '*') sb.Append(".{0,64}");
            else if (c == '?') sb.Append('.');
            else if (c == '\\' && i + 3 < entry.Length && entry[i + 1] == 'x'
                     && Uri.IsHexDigit(entry[i + 2]) && Uri.IsHexDigit(entry[i + 3]))
            {
                sb.Append(entry, i, 4);
                i += 3;
            }
            else sb.Append(System.Text.RegularExpressions.Regex.Escape(c.ToString()));
        }
    }
}
