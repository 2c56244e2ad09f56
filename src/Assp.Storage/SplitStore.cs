namespace Assp.Storage;

/// <summary>
/// Two stores seen as one: the tables <paramref name="isShared"/> picks live in the shared store (PostgreSQL, for
/// the lists set to <c>DB:</c>), every other table in the local one (this node's SQLite file).
/// </summary>
public sealed class SplitStore(IStore local, IStore shared, Func<string, bool> isShared) : IStore
{
    public IStore Local { get; } = local;
    public IStore Shared { get; } = shared;

    public TimeProvider Clock => Local.Clock;

    public IStoreTable Table(string name) => isShared(name) ? Shared.Table(name) : Local.Table(name);

    public IReadOnlyCollection<string> TableNames =>
        [.. Local.TableNames.Where(n => !isShared(n)).Union(Shared.TableNames.Where(isShared)).Order(StringComparer.Ordinal)];

    /// <summary>Flushes both; the local store's error (disk) wins over the shared store's (network).</summary>
    public void Flush()
    {
        Exception? sharedError = null;
        try { Shared.Flush(); }
        catch (IOException ex) { sharedError = ex; }
        Local.Flush();
        if (sharedError is not null) throw sharedError;
    }

    public void Dispose()
    {
        try { Shared.Dispose(); }
        finally { Local.Dispose(); }
    }
}
