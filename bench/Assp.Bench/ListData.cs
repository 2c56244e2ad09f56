using System.Net;
using Assp.Config.Lists;

namespace Assp.Bench;

/// <summary>Deterministic list contents and probes, the same for every run.</summary>
internal static class ListData
{
    public static List<ListEntry> IpEntries(int count, int seed = 1)
    {
        var rnd = new Random(seed);
        var result = new List<ListEntry>(count);
        for (int i = 0; i < count; i++)
        {
            // A realistic mix: mostly single hosts, some /24 and /16 networks, a few IPv6 networks.
            int kind = rnd.Next(100);
            var a = rnd.Next(1, 224); var b = rnd.Next(256); var c = rnd.Next(256); var d = rnd.Next(256);
            string text = kind switch
            {
                < 70 => $"{a}.{b}.{c}.{d}",
                < 85 => $"{a}.{b}.{c}.0/24",
                < 90 => $"{a}.{b}.",
                < 95 => $"{a}.{b}.{c & 0xF0}.0/20 office {i}",
                _ => $"2001:db8:{rnd.Next(65536):x}:{rnd.Next(65536):x}::/64",
            };
            result.Add(new ListEntry(text, null, 0));
        }
        return result;
    }

    public static List<ListEntry> AddressEntries(int count, int seed = 2)
    {
        var rnd = new Random(seed);
        var result = new List<ListEntry>(count);
        for (int i = 0; i < count; i++)
        {
            int kind = rnd.Next(100);
            string text = kind switch
            {
                < 75 => $"user{i}@domain{rnd.Next(20000)}.example",
                < 95 => $"@domain{i}.example",
                _ => $"localpart{i}",
            };
            result.Add(new ListEntry(text, null, 0));
        }
        return result;
    }

    public static IPAddress[] IpProbes(int count, int seed = 3)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
            rnd.Next(10) == 0
                ? IPAddress.Parse($"2001:db8:{rnd.Next(65536):x}:{rnd.Next(65536):x}::1")
                : new IPAddress(new[] { (byte)rnd.Next(1, 224), (byte)rnd.Next(256), (byte)rnd.Next(256), (byte)rnd.Next(256) })).ToArray();
    }

    public static string[] AddressProbes(int count, int seed = 4)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, count).Select(i => rnd.Next(3) switch
        {
            0 => $"user{rnd.Next(100000)}@domain{rnd.Next(20000)}.example",
            1 => $"someone@domain{rnd.Next(100000)}.example",
            _ => $"localpart{rnd.Next(100000)}@anywhere.example",
        }).ToArray();
    }
}
