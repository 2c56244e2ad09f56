using System.Collections.Frozen;
using System.Net;

namespace Assp.Config.Lists;

/// <summary>What an IP list says about an address: the network that matched and the entry's comment text.</summary>
public readonly record struct IpListMatch(IpNetwork Network, string Comment);

/// <summary>
/// An ASSP IP list (noProcessingIPs, whiteListedIPs, denySMTPConnectionsFrom, ...). Entries: "1.2.3.4",
/// "1.2.3." (prefix), CIDR, "a-b" ranges, IPv6 in full or CIDR, host names (resolved once at load), with text after
/// the entry kept as its comment. "network=>recipients" entries apply only to those recipients, and where a
/// network has such entries its global entry is ignored (ASSP's rule).
/// A lookup is one hash probe per distinct prefix length, most specific first.
/// </summary>
public sealed class IpList
{
    public static readonly IpList Empty = new([], 0);

    private sealed class Node
    {
        public bool Global;
        public string Comment = "";
        public List<ScopePattern>? Scopes;
    }

    // One table per (family, prefix length) present, ordered longest prefix first.
    private readonly (bool V6, int Prefix, FrozenDictionary<UInt128, Node> Table)[] _tables;

    public int Count { get; }

    private IpList((bool, int, FrozenDictionary<UInt128, Node>)[] tables, int count)
    {
        _tables = tables;
        Count = count;
    }

    /// <summary>Resolves host-name entries; replaceable so tests and the DNS library can supply their own.</summary>
    public delegate IPAddress[] HostResolver(string host);

    public static IPAddress[] SystemResolver(string host)
    {
        try
        {
            var task = Dns.GetHostAddressesAsync(host);
            return task.Wait(TimeSpan.FromSeconds(3)) ? task.Result : [];
        }
        catch (Exception ex) when (ex is AggregateException or System.Net.Sockets.SocketException)
        {
            return [];
        }
    }

    public static IpList Compile(IEnumerable<ListEntry> entries, string option, List<ConfigIssue> issues, TimeSpan matchTimeout,
        HostResolver? resolver = null)
    {
        var nodes = new Dictionary<(bool, int), Dictionary<UInt128, Node>>();
        int count = 0;
        var networks = new List<IpNetwork>(4);
        foreach (var e in entries)
        {
            var text = e.Text.Trim();
            if (text.Length == 0) continue;
            string? scope = null;
            int arrow = text.IndexOf("=>", StringComparison.Ordinal);
            if (arrow >= 0)
            {
                scope = text[(arrow + 2)..].Trim();
                text = text[..arrow].Trim();
                if (scope.Length == 0)
                {
                    issues.Add(new ConfigIssue(IssueSeverity.Error, option, e.Text, "nothing after '=>' (expected recipients)", e.File, e.Line));
                    continue;
                }
            }
            // The first word is the network; the rest of the line is a comment ASSP shows on a match.
            int space = IndexOfWhiteSpace(text);
            string netText = space < 0 ? text : text[..space];
            string comment = space < 0 ? "" : text[(space + 1)..].Trim();
            networks.Clear();
            string? error;
            bool ok;
            if (netText.Contains('-') && !netText.Contains('/') && (netText.Count(c => c == '.') >= 6 || netText.Count(c => c == ':') >= 4))
                ok = IpNetwork.TryParseRange(netText, networks, out error);
            else if (IpNetwork.TryParse(netText, out var network, out error))
            {
                networks.Add(network);
                ok = true;
            }
            else if (LooksLikeHostName(netText))
            {
                var addresses = (resolver ?? SystemResolver)(netText);
                if (addresses.Length == 0)
                {
                    issues.Add(new ConfigIssue(IssueSeverity.Warning, option, netText, "host name did not resolve; entry skipped", e.File, e.Line));
                    continue;
                }
                foreach (var a in addresses)
                {
                    var (v6, bits) = IpNetwork.ToBits(a);
                    networks.Add(new IpNetwork(v6, bits, v6 ? 128 : 32));
                }
                ok = true;
                error = null;
            }
            else ok = false;
            if (!ok)
            {
                issues.Add(new ConfigIssue(IssueSeverity.Error, option, netText, error ?? "not an IP address, network or host name", e.File, e.Line));
                continue;
            }
            count++;
            ScopePattern? scopePatterns = scope is null ? null
                : new ScopePattern(scope.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), matchTimeout);
            foreach (var n in networks)
            {
                if (!nodes.TryGetValue((n.IsV6, n.PrefixLength), out var table))
                    nodes[(n.IsV6, n.PrefixLength)] = table = new Dictionary<UInt128, Node>();
                if (!table.TryGetValue(n.Bits, out var node)) table[n.Bits] = node = new Node();
                if (scopePatterns is null)
                {
                    node.Global = true;
                    if (comment.Length > 0) node.Comment = comment;
                }
                else
                {
                    (node.Scopes ??= []).Add(scopePatterns);
                    if (node.Comment.Length == 0) node.Comment = comment;
                }
            }
        }
        var tables = nodes.OrderByDescending(kv => kv.Key.Item2)
            .Select(kv => (kv.Key.Item1, kv.Key.Item2, kv.Value.ToFrozenDictionary()))
            .ToArray();
        return new IpList(tables, count);
    }

    private static int IndexOfWhiteSpace(string s)
    {
        for (int i = 0; i < s.Length; i++) if (char.IsWhiteSpace(s[i])) return i;
        return -1;
    }

    private static bool LooksLikeHostName(string s) =>
        s.Contains('.') && s.Any(char.IsAsciiLetter) && Registry.ValueSyntax.IsHostName(s);

    public bool Contains(IPAddress address, string? recipient = null) => Match(address, recipient) is not null;

    public bool Contains(string address, string? recipient = null) =>
        IPAddress.TryParse(address, out var ip) && Contains(ip, recipient);

    /// <summary>
    /// The most specific matching entry. As in ASSP, when any entry that contains the address is scoped to
    /// recipients, unscoped entries no longer count: the address matches only when a recipient is given and
    /// one of those scopes matches it (anywhere in the address, case-insensitively).
    /// </summary>
    public IpListMatch? Match(IPAddress address, string? recipient = null)
    {
        if (Count == 0) return null;
        var (v6, bits) = IpNetwork.ToBits(address);
        IpListMatch? global = null;
        bool scoped = false;
        foreach (var (tv6, prefix, table) in _tables)
        {
            if (tv6 != v6) continue;
            var key = IpNetwork.Mask(v6, bits, prefix);
            if (!table.TryGetValue(key, out var node)) continue;
            var match = new IpListMatch(new IpNetwork(v6, key, prefix), node.Comment);
            if (node.Scopes is null)
            {
                global ??= match;
                continue;
            }
            scoped = true;
            if (recipient is null) continue;
            foreach (var scope in node.Scopes)
            {
                if (scope.Matches(recipient)) return match;
            }
        }
        return scoped ? null : global;
    }

    /// <summary>The recipients of a scoped IP entry; ASSP matches them anywhere in the address.</summary>
    internal sealed class ScopePattern(string[] entries, TimeSpan timeout)
    {
        private readonly System.Text.RegularExpressions.Regex _regex = DomainList.BuildPattern(entries, timeout, "", "");
        public bool Matches(string address) => DomainList.SafeMatch(_regex, address);
    }
}
