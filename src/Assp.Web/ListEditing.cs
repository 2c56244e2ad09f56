using System.Globalization;
using System.Net;
using Assp.Checks.Delaying;
using Assp.Checks.PenaltyBox;
using Assp.Checks.Whitelist;
using Assp.Config;
using Assp.Storage;

namespace Assp.Web;

/// <summary>The address and IP databases the lists pages show, by the name the pages and the API use.</summary>
public enum ListName { Whitelist, Redlist, Tuplets, PbBlack, PbWhite }

/// <summary>One row as shown: its key, a readable value, and when it was written.</summary>
public sealed record ListRow(string Key, string Value, DateTimeOffset? Updated);

/// <summary>
/// Search, add and remove on the whitelist, the redlist, the greylisting tuplets (delaydb.white) and the
/// PenaltyBox, through the same classes the proxy uses, over the instance's store.
/// </summary>
public sealed class ListEditing(IStore store)
{
    public const int MaxRows = 500;

    private readonly WhitelistDb _whitelist = new(store);
    private readonly Redlist _redlist = new(store);
    private readonly PersonalBlacklist _persBlack = new(store);
    private readonly IpPenaltyBox _pb = new(store);
    private readonly Greylist _greylist = new(store);

    public static bool TryParse(string text, out ListName list) => Enum.TryParse(text, ignoreCase: true, out list) && Enum.IsDefined(list);

    /// <summary>Rows whose key contains <paramref name="query"/> (all rows when empty), at most <see cref="MaxRows"/>.</summary>
    public (IReadOnlyList<ListRow> Rows, long Total) Search(ConfigSnapshot cfg, ListName list, string? query)
    {
        query = query?.Trim().ToLowerInvariant() ?? "";
        IEnumerable<ListRow> rows = list switch
        {
            ListName.Whitelist => Rows(_whitelist.Table, v => long.TryParse(v, out var t) && t >= WhitelistDb.RemovedOffset ? "removed" : "white"),
            ListName.Redlist => Rows(_redlist.Table, _ => "red"),
            ListName.Tuplets => Rows(store.Table(StoreTables.DelayDbWhite), v => "safelisted since " + Time(v)),
            ListName.PbBlack => _pb.BlackEntries(cfg).Select(e => new ListRow(e.Key,
                $"score {e.Record.Score.ToString("G15", CultureInfo.InvariantCulture)}, {e.Record.Count} times, {e.Record.Reason}", FromUnix(e.Record.Updated))),
            _ => _pb.WhiteEntries(cfg).Select(e => new ListRow(e.Key, e.Record.Reason, FromUnix(e.Record.Updated))),
        };
        var all = rows.Where(r => query.Length == 0 || r.Key.Contains(query, StringComparison.OrdinalIgnoreCase)).ToList();
        return (all.OrderBy(r => r.Key, StringComparer.Ordinal).Take(MaxRows).ToList(), all.Count);
    }

    /// <summary>Adds an entry; returns a message for the admin and whether it worked.</summary>
    public (bool Ok, string Message) Add(ConfigSnapshot cfg, ListName list, string key, string? extra)
    {
        key = key.Trim();
        if (key.Length == 0 || key.Length > 320 || key.Any(char.IsWhiteSpace)) return (false, "enter one address, domain or IP without spaces");
        switch (list)
        {
            case ListName.Whitelist:
            {
                var r = new WhitelistEditor(_whitelist, _redlist, _persBlack).AddToWhitelist(cfg, key, null);
                return r.Outcome switch
                {
                    ListEditOutcome.RefusedRedlisted => (false, $"{key} is on the redlist; take it off the redlist first"),
                    ListEditOutcome.AlreadyListed => (true, $"{key} was whitelisted already"),
                    _ => (true, $"{key} whitelisted"),
                };
            }
            case ListName.Redlist:
                return (true, _redlist.Add(key) ? $"{key} added to the redlist" : $"{key} was on the redlist already");
            case ListName.Tuplets:
            {
                if (!IPAddress.TryParse(key, out var ip)) return (false, $"'{key}' is not an IP address");
                var sender = extra?.Trim() ?? "";
                if (sender.Length == 0 || sender.Any(char.IsWhiteSpace)) return (false, "a tuplet needs the sender address or domain too");
                _greylist.SafelistTuple(cfg, ip, sender.Contains('@') ? sender : "x@" + sender.TrimStart('@'));
                return (true, $"{ip} with {sender} safelisted for greylisting");
            }
            case ListName.PbWhite:
            {
                if (!IPAddress.TryParse(key, out var ip)) return (false, $"'{key}' is not an IP address");
                _pb.AddWhite(cfg, ip, "added in the web admin");
                return (true, $"{ip} put in the PenaltyBox white box");
            }
            default:
                return (false, "addresses cannot be added to the black box by hand; use denySMTPConnectionsFrom");
        }
    }

    public (bool Ok, string Message) Remove(ConfigSnapshot cfg, ListName list, string key)
    {
        key = key.Trim();
        if (key.Length == 0) return (false, "nothing to remove");
        switch (list)
        {
            case ListName.Whitelist:
            {
                var r = new WhitelistEditor(_whitelist, _redlist, _persBlack).RemoveFromWhitelist(cfg, key, null);
                if (r.Outcome == ListEditOutcome.NotListed)
                {
                    // A private or domain row ("sender,recipient") is removed by its key as listed.
                    return _whitelist.Table.Remove(key.ToLowerInvariant()) ? (true, $"{key} removed") : (false, $"{key} is not whitelisted");
                }
                return (true, $"{key} removed from the whitelist" + (r.Redlisted ? " and put on the redlist (EmailWhiteRemovalToRed)" : ""));
            }
            case ListName.Redlist:
                return _redlist.Remove(key) ? (true, $"{key} removed from the redlist") : (false, $"{key} is not on the redlist");
            case ListName.Tuplets:
                return store.Table(StoreTables.DelayDbWhite).Remove(key) ? (true, $"tuplet {key} removed") : (false, $"no tuplet {key}");
            case ListName.PbBlack:
                return _pb.Remove(PenaltyBoxTable.Black, key) ? (true, $"{key} removed from the black box") : (false, $"{key} is not in the black box");
            default:
                return _pb.Remove(PenaltyBoxTable.White, key) ? (true, $"{key} removed from the white box") : (false, $"{key} is not in the white box");
        }
    }

    private static IEnumerable<ListRow> Rows(IStoreTable table, Func<string, string> describe) =>
        table.Scan().Select(kv => new ListRow(kv.Key, describe(kv.Value.Value), FromUnix(kv.Value.Updated)));

    private static string Time(string unix) =>
        long.TryParse(unix, NumberStyles.None, CultureInfo.InvariantCulture, out var t) && FromUnix(t) is { } d ? d.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) : unix;

    private static DateTimeOffset? FromUnix(long t) => t is > 0 and < 253402300799 ? DateTimeOffset.FromUnixTimeSeconds(t) : null;
}
