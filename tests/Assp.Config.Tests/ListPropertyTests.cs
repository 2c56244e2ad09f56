using System.Net;
using Assp.Config.Lists;
using FsCheck;
using FsCheck.Fluent;

namespace Assp.Config.Tests;

/// <summary>The fast matchers agree with slow, obviously-right reference implementations on random input.</summary>
public class ListPropertyTests
{
    private static readonly FsCheck.Config Runs = FsCheck.Config.QuickThrowOnFailure.WithMaxTest(300);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    private static readonly Gen<uint> Ipv4 = Gen.Choose(0, 65535).Two().Select(t => ((uint)t.Item1 << 16) | (uint)t.Item2);

    private static readonly Gen<(uint Net, int Prefix)> Ipv4Network =
        Gen.Zip(Ipv4, Gen.Elements(8, 12, 16, 20, 24, 28, 30, 32)).Select(t => (t.Item1 & (t.Item2 == 0 ? 0 : uint.MaxValue << (32 - t.Item2)), t.Item2));

    private static string ToText(uint ip) => new IPAddress(new[] { (byte)(ip >> 24), (byte)(ip >> 16), (byte)(ip >> 8), (byte)ip }).ToString();

    private static bool NaiveContains((uint Net, int Prefix)[] networks, uint ip) =>
        networks.Any(n => (ip & (n.Prefix == 0 ? 0 : uint.MaxValue << (32 - n.Prefix))) == n.Net);

    [Fact]
    public void Ipv4_list_matches_exactly_the_addresses_inside_its_networks()
    {
        var gen = Gen.Zip(Ipv4Network.ArrayOf().Select(a => a.Take(40).ToArray()), Ipv4.ArrayOf().Select(a => a.Take(30).ToArray()));
        Check.One(Runs, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var (networks, probes) = t;
            var entries = networks.Select(n => new ListEntry($"{ToText(n.Net)}/{n.Prefix}", null, 0));
            var list = IpList.Compile(entries, "test", [], Timeout);
            // Probe both random addresses and addresses inside each network.
            var all = probes.Concat(networks.Select(n => n.Net | 1u)).Concat(networks.Select(n => n.Net));
            return all.All(ip => list.Contains(IPAddress.Parse(ToText(ip))) == NaiveContains(networks, ip));
        }));
    }

    [Fact]
    public void Ipv4_dotted_prefixes_mean_whole_octets()
    {
        Check.One(Runs, Prop.ForAll(Gen.Zip(Ipv4, Gen.Choose(1, 3)).ToArbitrary(), t =>
        {
            var (ip, octets) = t;
            var bytes = new[] { (byte)(ip >> 24), (byte)(ip >> 16), (byte)(ip >> 8), (byte)ip };
            var prefix = string.Join('.', bytes.Take(octets)) + ".";
            var list = IpList.Compile([new ListEntry(prefix, null, 0)], "test", [], Timeout);
            var inside = IPAddress.Parse(ToText(ip));
            var outside = IPAddress.Parse(ToText(ip ^ (1u << (32 - octets * 8))));
            return list.Contains(inside) && !list.Contains(outside);
        }));
    }

    [Fact]
    public void Ipv4_ranges_cover_exactly_from_first_to_last()
    {
        Check.One(Runs, Prop.ForAll(Gen.Zip(Ipv4, Gen.Zip(Gen.Choose(0, 5000), Gen.Choose(-50, 5050))).ToArbitrary(), t =>
        {
            var (start, (length, probeOffset)) = t;
            if (start > uint.MaxValue - 6000) start -= 6000;
            uint end = start + (uint)length;
            var list = IpList.Compile([new ListEntry($"{ToText(start)}-{ToText(end)}", null, 0)], "test", [], Timeout);
            uint probe = (uint)(start + probeOffset);
            bool expected = probe >= start && probe <= end;
            return list.Contains(IPAddress.Parse(ToText(probe))) == expected;
        }));
    }

    [Fact]
    public void Ipv6_list_matches_exactly_the_addresses_inside_its_networks()
    {
        var addr = Gen.Choose(0, 65535).ArrayOf().Select(a => a.Concat(new int[8]).Take(8).Select(x => (ushort)x).ToArray());
        var gen = Gen.Zip(addr, Gen.Zip(Gen.Choose(16, 128), addr));
        Check.One(Runs, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var (netWords, (prefix, probeWords)) = t;
            var net = ToV6(netWords);
            var probe = ToV6(probeWords);
            var list = IpList.Compile([new ListEntry($"{net}/{prefix}", null, 0)], "test", [], Timeout);
            return list.Contains(probe) == SamePrefix(net, probe, prefix) && list.Contains(net);
        }));
    }

    private static IPAddress ToV6(ushort[] words)
    {
        var b = new byte[16];
        for (int i = 0; i < 8; i++) { b[2 * i] = (byte)(words[i] >> 8); b[2 * i + 1] = (byte)words[i]; }
        return new IPAddress(b);
    }

    private static bool SamePrefix(IPAddress a, IPAddress b, int prefix)
    {
        var x = a.GetAddressBytes();
        var y = b.GetAddressBytes();
        for (int bit = 0; bit < prefix; bit++)
        {
            int mask = 0x80 >> (bit % 8);
            if ((x[bit / 8] & mask) != (y[bit / 8] & mask)) return false;
        }
        return true;
    }

    private static readonly Gen<string> Label = Gen.Elements("alice", "bob", "info", "sales", "a", "b", "mail", "x-1", "Bob");
    private static readonly Gen<string> Domain = Gen.Elements("example.com", "example.org", "sub.example.com", "spambuy.com", "buy.com", "b.c");
    private static readonly Gen<string> Address = Gen.Zip(Label, Domain).Select(t => t.Item1 + "@" + t.Item2);

    private static readonly Gen<string> AddressEntry = Gen.OneOf(
        Address, Domain.Select(d => "@" + d), Label,
        Gen.Zip(Label, Domain).Select(t => t.Item1[..1] + "*@" + t.Item2),
        Domain.Select(d => "*@" + d[..^1] + "?"));

    /// <summary>Reference semantics of an address list entry, written plainly.</summary>
    private static bool NaiveAddressMatch(string entry, string address)
    {
        entry = entry.ToLowerInvariant();
        address = address.ToLowerInvariant();
        int at = address.IndexOf('@');
        string pattern = !entry.Contains('@') ? entry + "@*" : entry.StartsWith('@') ? "*" + entry : entry;
        if (!entry.Contains('*') && !entry.Contains('?'))
        {
            if (!entry.Contains('@')) return address[..at] == entry;
            if (entry.StartsWith('@')) return address[(at + 1)..] == entry[1..];
            return address == entry;
        }
        return Glob(pattern, address);
    }

    private static bool Glob(string p, string s)
    {
        if (p.Length == 0) return s.Length == 0;
        if (p[0] == '*') return Enumerable.Range(0, s.Length + 1).Any(i => Glob(p[1..], s[i..]));
        return s.Length > 0 && (p[0] == '?' || p[0] == s[0]) && Glob(p[1..], s[1..]);
    }

    [Fact]
    public void Address_list_agrees_with_the_reference_semantics()
    {
        var gen = Gen.Zip(AddressEntry.ArrayOf().Select(a => a.Take(12).ToArray()), Address.ArrayOf().Select(a => a.Take(12).ToArray()));
        Check.One(Runs, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var (entries, probes) = t;
            var list = AddressList.Compile(entries.Select(e => new ListEntry(e, null, 0)), "test", [], Timeout);
            return probes.All(p => list.Contains(p) == entries.Any(e => NaiveAddressMatch(e, p)));
        }));
    }

    [Fact]
    public void Domain_list_matches_the_end_of_the_address()
    {
        var entry = Gen.OneOf(Domain, Domain.Select(d => "." + d), Address, Domain.Select(d => d[2..]));
        var gen = Gen.Zip(entry.ArrayOf().Select(a => a.Take(10).ToArray()), Address.ArrayOf().Select(a => a.Take(12).ToArray()));
        Check.One(Runs, Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var (entries, probes) = t;
            var list = DomainList.Compile(entries.Select(e => new ListEntry(e, null, 0)), "test", [], Timeout);
            return probes.All(p => list.Matches(p) == entries.Any(e => p.EndsWith(e, StringComparison.OrdinalIgnoreCase)));
        }));
    }
}
