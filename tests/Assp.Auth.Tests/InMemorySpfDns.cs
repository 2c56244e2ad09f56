using System.Net;
using System.Text;
using Assp.Auth.Spf;

namespace Assp.Auth.Tests;

/// <summary>A zone in memory for SPF tests: names map to records; a name may be marked to time out.</summary>
public sealed class InMemorySpfDns : ISpfDns
{
    private sealed class Node
    {
        public List<(string Type, object Value)> Records { get; } = [];
        public bool Timeout { get; set; }
    }

    private readonly Dictionary<string, Node> _zone = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How many lookups were asked (for limit tests).</summary>
    public int Queries { get; private set; }

    private Node NodeOf(string name)
    {
        string key = Key(name);
        if (!_zone.TryGetValue(key, out var n)) _zone[key] = n = new Node();
        return n;
    }

    private static string Key(string name) => name.TrimEnd('.').ToLowerInvariant();

    public InMemorySpfDns Add(string name, string type, object value)
    {
        NodeOf(name).Records.Add((type.ToUpperInvariant(), value));
        return this;
    }

    /// <summary>Declares a name that exists even without records (e.g. one whose only entry is "TXT: NONE").</summary>
    public InMemorySpfDns Touch(string name)
    {
        NodeOf(name);
        return this;
    }

    public InMemorySpfDns SetTimeout(string name)
    {
        NodeOf(name).Timeout = true;
        return this;
    }

    private SpfDnsAnswer<T> Lookup<T>(string name, string type, Func<object, T> convert)
    {
        Queries++;
        string key = Key(name);
        for (int depth = 0; depth < 10; depth++)
        {
            if (!_zone.TryGetValue(key, out var node)) return SpfDnsAnswer<T>.Of(SpfDnsStatus.NxDomain);
            var found = node.Records.Where(r => r.Type == type).Select(r => convert(r.Value)).ToList();
            if (found.Count > 0) return new SpfDnsAnswer<T>(SpfDnsStatus.Ok, found);
            var cname = node.Records.FirstOrDefault(r => r.Type == "CNAME");
            if (cname.Type is null) return SpfDnsAnswer<T>.Of(node.Timeout ? SpfDnsStatus.Timeout : SpfDnsStatus.NoData);
            key = Key((string)cname.Value);
        }
        // A CNAME loop is a server failure.
        return SpfDnsAnswer<T>.Of(SpfDnsStatus.TempError);
    }

    public Task<SpfDnsAnswer<string>> GetTxtAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(Lookup(name, "TXT", v => v is IEnumerable<string> parts ? string.Concat(parts) : (string)v));

    public Task<SpfDnsAnswer<IPAddress>> GetAAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(Lookup(name, "A", v => IPAddress.Parse((string)v)));

    public Task<SpfDnsAnswer<IPAddress>> GetAaaaAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(Lookup(name, "AAAA", v => IPAddress.Parse((string)v)));

    public Task<SpfDnsAnswer<string>> GetMxAsync(string name, CancellationToken cancellationToken)
    {
        var r = Lookup(name, "MX", v => ((int Pref, string Host))v);
        return Task.FromResult(new SpfDnsAnswer<string>(r.Status, [.. r.Records.OrderBy(m => m.Pref).Select(m => m.Host)]));
    }

    public Task<SpfDnsAnswer<string>> GetPtrAsync(IPAddress address, CancellationToken cancellationToken) =>
        Task.FromResult(Lookup(ReverseName(address), "PTR", v => (string)v));

    public static string ReverseName(IPAddress address)
    {
        var bytes = address.GetAddressBytes();
        var sb = new StringBuilder();
        if (bytes.Length == 4)
        {
            for (int i = 3; i >= 0; i--) sb.Append(bytes[i]).Append('.');
            return sb.Append("in-addr.arpa").ToString();
        }
        for (int i = 15; i >= 0; i--)
            sb.Append("0123456789abcdef"[bytes[i] & 0xF]).Append('.').Append("0123456789abcdef"[bytes[i] >> 4]).Append('.');
        return sb.Append("ip6.arpa").ToString();
    }
}
