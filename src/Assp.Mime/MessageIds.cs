namespace Assp.Mime;

/// <summary>Extracts message ids ("&lt;id@host&gt;") from Message-ID, In-Reply-To and References.</summary>
public static class MessageIds
{
    /// <summary>The first id (without brackets), or a bare token containing '@' when there are no brackets; else null.</summary>
    public static string? ParseOne(string value)
    {
        var list = ParseList(value, 1);
        return list.Count > 0 ? list[0] : null;
    }

    /// <summary>All ids, in order, without brackets; comments and phrases between them are skipped.</summary>
    public static IReadOnlyList<string> ParseList(string value, int max = 1000)
    {
        var result = new List<string>();
        int pos = 0;
        while (pos < value.Length && result.Count < max)
        {
            StructuredText.SkipCfws(value, ref pos);
            if (pos >= value.Length) break;
            char c = value[pos];
            if (c == '<')
            {
                int close = value.IndexOf('>', pos + 1);
                int end = close < 0 ? value.Length : close;
                var id = new string(value.AsSpan(pos + 1, end - pos - 1).ToArray().Where(ch => !char.IsWhiteSpace(ch)).ToArray());
                if (id.Length > 0) result.Add(id);
                pos = close < 0 ? value.Length : close + 1;
            }
            else if (c == '"')
            {
                StructuredText.ReadQuoted(value, ref pos, out _);
            }
            else
            {
                int s = pos;
                while (pos < value.Length && !char.IsWhiteSpace(value[pos]) && value[pos] != '<' && value[pos] != '(' && value[pos] != ',') pos++;
                if (pos == s) { pos++; continue; }
                var token = value[s..pos];
                if (token.Contains('@') && !token.Contains("<", StringComparison.Ordinal)) result.Add(token.Trim('"', '\'', ';'));
            }
        }
        return result;
    }
}
