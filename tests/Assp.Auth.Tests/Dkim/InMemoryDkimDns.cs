using Assp.Auth.Dkim;
using Assp.Auth.Spf;

namespace Assp.Auth.Tests.Dkim;

/// <summary>TXT records in memory for DKIM and ARC tests; a name can be made to fail like a DNS server error.</summary>
public sealed class InMemoryDkimDns : IDkimDns
{
    private readonly Dictionary<string, List<string>> _txt = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _failing = new(StringComparer.OrdinalIgnoreCase);

    public int Queries { get; private set; }

    public InMemoryDkimDns Add(string name, string txt)
    {
        if (!_txt.TryGetValue(name.TrimEnd('.'), out var list)) _txt[name.TrimEnd('.')] = list = [];
        list.Add(txt);
        return this;
    }

    public InMemoryDkimDns Fail(string name)
    {
        _failing.Add(name);
        return this;
    }

    public Task<SpfDnsAnswer<string>> GetTxtAsync(string name, CancellationToken cancellationToken)
    {
        Queries++;
        name = name.TrimEnd('.');
        if (_failing.Contains(name)) return Task.FromResult(SpfDnsAnswer<string>.Of(SpfDnsStatus.TempError));
        return Task.FromResult(_txt.TryGetValue(name, out var list)
            ? new SpfDnsAnswer<string>(SpfDnsStatus.Ok, list)
            : SpfDnsAnswer<string>.Of(SpfDnsStatus.NxDomain));
    }
}
