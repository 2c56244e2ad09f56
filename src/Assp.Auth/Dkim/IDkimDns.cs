using Assp.Auth.Spf;

namespace Assp.Auth.Dkim;

/// <summary>The one lookup DKIM and ARC need: the TXT records of a selector name. Tests put keys in memory here.</summary>
public interface IDkimDns
{
    /// <summary>TXT records, each with its character-strings joined.</summary>
    Task<SpfDnsAnswer<string>> GetTxtAsync(string name, CancellationToken cancellationToken);
}
