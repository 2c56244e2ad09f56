using System.Globalization;
using Assp.Config;
using Assp.Config.Lists;

namespace Assp.Checks.Decision;

/// <summary>
/// An address list whose entries may carry a score ("addr=>score"), as ASSP's Spam-Lover lists do: the score
/// is a personal spam limit. Of several matching entries the longest wins.
/// </summary>
public sealed class ScoredAddressList
{
    private readonly AddressList _plain;
    private readonly (string Entry, AddressList Match, double Score)[] _scored;

    private ScoredAddressList(AddressList plain, (string, AddressList, double)[] scored)
    {
        _plain = plain;
        _scored = scored;
    }

    public bool IsEmpty => _plain.Count == 0 && _scored.Length == 0;

    /// <summary>The compiled list of an option, cached with the configuration snapshot.</summary>
    public static ScoredAddressList For(ConfigSnapshot cfg, string option) =>
        cfg.Derived("scored-address-list:" + option, c => Compile(c, option));

    private static ScoredAddressList Compile(ConfigSnapshot cfg, string option)
    {
        var plain = new List<ListEntry>();
        var scored = new List<(string, AddressList, double)>();
        var issues = new List<ConfigIssue>();
        foreach (var entry in cfg.GetListEntries(option))
        {
            var text = entry.Text.Trim();
            int arrow = text.IndexOf("=>", StringComparison.Ordinal);
            if (arrow < 0)
            {
                plain.Add(entry);
                continue;
            }
            var address = text[..arrow].Trim();
            if (!double.TryParse(text[(arrow + 2)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var score)) score = 0;
            var one = AddressList.Compile([entry with { Text = address }], option, issues, Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout);
            scored.Add((address, one, score));
        }
        var plainList = AddressList.Compile(plain, option, issues, Assp.Config.Regexes.ConfigRegex.DefaultMatchTimeout);
        return new ScoredAddressList(plainList, [.. scored.OrderByDescending(s => s.Item1.Length)]);
    }

    /// <summary>Is the address on the list, and with which personal score (0 when the matching entry has none)?</summary>
    public bool TryMatch(string address, out double score)
    {
        score = 0;
        foreach (var (_, match, s) in _scored)
        {
            if (match.Contains(address))
            {
                score = s;
                return true;
            }
        }
        return _plain.Contains(address);
    }

    public bool Contains(string address) => TryMatch(address, out _);
}
