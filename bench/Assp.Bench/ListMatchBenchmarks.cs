using System.Net;
using Assp.Config.Lists;
using BenchmarkDotNet.Attributes;

namespace Assp.Bench;

/// <summary>BenchmarkDotNet micro-benchmarks of single lookups in 100,000-entry lists.</summary>
[MemoryDiagnoser]
public class ListMatchBenchmarks
{
    private IpList _ips = IpList.Empty;
    private AddressList _addresses = AddressList.Empty;
    private DomainList _domains = DomainList.Empty;
    private IPAddress[] _ipProbes = [];
    private string[] _addrProbes = [];
    private int _i;

    [GlobalSetup]
    public void Setup()
    {
        var timeout = TimeSpan.FromSeconds(5);
        _ips = IpList.Compile(ListData.IpEntries(100_000), "bench", [], timeout);
        _addresses = AddressList.Compile(ListData.AddressEntries(100_000), "bench", [], timeout);
        _domains = DomainList.Compile(ListData.AddressEntries(100_000).Select(e => e with { Text = e.Text.TrimStart('@') }), "bench", [], timeout);
        _ipProbes = ListData.IpProbes(4096);
        _addrProbes = ListData.AddressProbes(4096);
    }

    [Benchmark]
    public bool IpLookup() => _ips.Contains(_ipProbes[_i++ & 4095]);

    [Benchmark]
    public bool AddressLookup() => _addresses.Contains(_addrProbes[_i++ & 4095]);

    [Benchmark]
    public bool DomainSuffixLookup() => _domains.Matches(_addrProbes[_i++ & 4095]);
}
