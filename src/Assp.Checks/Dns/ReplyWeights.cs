using System.Globalization;

namespace Assp.Checks.Dns;

/// <summary>
/// The weights one DNS-list provider gives its replies, keyed by reply pattern ("127.0.0.2", "127.0.?.*", "*").
/// Lookup follows ASSP: keys are tried longest first, equal lengths in descending ASCII order, and the first key
/// that equals the reply or matches it as a wildcard pattern wins.
/// </summary>
public sealed class ReplyWeights
{
    private readonly Dictionary<string, double> _weights = new(StringComparer.OrdinalIgnoreCase);
    private (string Key, double Weight, Glob Pattern)[]? _ordered;

    public int Count => _weights.Count;
    public IReadOnlyDictionary<string, double> Entries => _weights;

    /// <summary>Sets a weight (a later plain entry replaces an earlier one, as in ASSP).</summary>
    public void Set(string key, double weight)
    {
        _weights[key] = weight;
        _ordered = null;
    }

    /// <summary>Adds to a weight (bitmask entries add up).</summary>
    public void Add(string key, double weight)
    {
        _weights[key] = _weights.TryGetValue(key, out var w) ? w + weight : weight;
        _ordered = null;
    }

    public bool TryGet(string key, out double weight) => _weights.TryGetValue(key, out weight);

    /// <summary>The weight for <paramref name="reply"/>, or null when no key matches.</summary>
    public double? Match(string reply)
    {
        var ordered = _ordered ??= [.. _weights
            .OrderByDescending(kv => kv.Key.Length)
            .ThenByDescending(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (kv.Key, kv.Value, new Glob(kv.Key)))];
        foreach (var (key, weight, pattern) in ordered)
        {
            if (string.Equals(key, reply, StringComparison.OrdinalIgnoreCase) || pattern.IsMatch(reply)) return weight;
        }
        return null;
    }

    /// <summary>
    /// ASSP's reading of a reply key as a pattern, over the whole reply, ignoring case: '*' is any run of
    /// characters; '?' is at most one character; a '.' right before '*' or '?' is any one character, other dots
    /// are literal. Everything else is literal. Matching is a small table walk: no regex, no backtracking.
    /// </summary>
    private readonly struct Glob
    {
        private enum Kind : byte { Literal, AnyOne, OptionalOne, AnyRun }
        private readonly (Kind Kind, char C)[] _tokens;

        public Glob(string key)
        {
            var t = new List<(Kind, char)>(key.Length);
            for (int i = 0; i < key.Length; i++)
            {
                char c = key[i];
                char next = i + 1 < key.Length ? key[i + 1] : '\0';
                switch (c)
                {
                    case '.' when next == '*':
                        t.Add((Kind.AnyRun, '\0'));
                        i++; // ".*" is one token
                        break;
                    case '.' when next == '?':
                        t.Add((Kind.AnyOne, '\0'));
                        break;
                    case '*':
                        t.Add((Kind.AnyRun, '\0'));
                        break;
                    case '?' when i > 0 && key[i - 1] == '*':
                        break; // "*?" is a lazy star: the same set of matches
                    case '?':
                        t.Add((Kind.OptionalOne, '\0'));
                        break;
                    default:
                        t.Add((Kind.Literal, char.ToLowerInvariant(c)));
                        break;
                }
            }
            _tokens = [.. t];
        }

        public bool IsMatch(string s)
        {
            // reach[j]: the first j characters can be matched by the tokens seen so far.
            var reach = new bool[s.Length + 1];
            reach[0] = true;
            foreach (var (kind, c) in _tokens)
            {
                var next = new bool[s.Length + 1];
                for (int j = 0; j <= s.Length; j++)
                {
                    if (!reach[j]) continue;
                    switch (kind)
                    {
                        case Kind.Literal:
                            if (j < s.Length && char.ToLowerInvariant(s[j]) == c) next[j + 1] = true;
                            break;
                        case Kind.AnyOne:
                            if (j < s.Length) next[j + 1] = true;
                            break;
                        case Kind.OptionalOne:
                            next[j] = true;
                            if (j < s.Length) next[j + 1] = true;
                            break;
                        case Kind.AnyRun:
                            for (int k = j; k <= s.Length; k++) next[k] = true;
                            break;
                    }
                }
                reach = next;
            }
            return reach[s.Length];
        }
    }

    public override string ToString() => string.Join(", ", _weights.Select(kv => kv.Key + "=>" + kv.Value.ToString(CultureInfo.InvariantCulture)));
}
