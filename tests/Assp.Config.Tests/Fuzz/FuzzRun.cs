using FsCheck;
using FsCheck.Fluent;

namespace Assp.Fuzzing;

/// <summary>
/// Runs an FsCheck property over generated inputs for a time budget: ASSP_FUZZ_SECONDS per target (default 3, at
/// most 30 in CI; bench/README.md shows longer runs). Every input must be handled within a hang guard and with
/// bounded allocation; a failure prints the shrunk input so it can become a named regression test.
/// </summary>
public static class FuzzRun
{
    public static TimeSpan Budget { get; } =
        TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("ASSP_FUZZ_SECONDS"), System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 3);

    /// <summary>Calls target for generated inputs until the budget is spent; returns how many inputs ran.</summary>
    public static long For<T>(Gen<T> generator, Action<T> target, long maxBytesPerInput = 256L << 20)
    {
        long runs = 0;
        var end = DateTime.UtcNow + Budget;
        var work = Task.Run(() =>
        {
            do
            {
                Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(50).WithQuietOnSuccess(true), Prop.ForAll(generator.ToArbitrary(), input =>
                {
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    target(input);
                    long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                    if (allocated > maxBytesPerInput) throw new InvalidOperationException($"one input allocated {allocated:N0} bytes");
                    Interlocked.Increment(ref runs);
                    return true;
                }));
            } while (DateTime.UtcNow < end);
        });
        // A hang guard, not a timing assertion: a parser that never returns fails here instead of stalling CI.
        if (!work.Wait(Budget + TimeSpan.FromSeconds(120))) throw new TimeoutException("an input did not terminate");
        return runs;
    }

    /// <summary>Random edits of a seed: byte flips to interesting values, truncation, insertion and duplication of slices.</summary>
    public static Gen<byte[]> Mutations(IReadOnlyList<byte[]> seeds, byte[] interesting)
    {
        var edit = Gen.Zip(Gen.Zip(Gen.Choose(0, 4), Gen.Choose(0, int.MaxValue)), Gen.Zip(Gen.Choose(0, int.MaxValue), Gen.Elements(interesting)))
            .Select(t => (Op: t.Item1.Item1, A: t.Item1.Item2, B: t.Item2.Item1, Value: t.Item2.Item2));
        var random = Gen.Choose(0, 255).Select(b => (byte)b).ArrayOf();
        var mutated = Gen.Zip(Gen.Choose(0, seeds.Count - 1), edit.ArrayOf()).Select(t =>
        {
            var data = new List<byte>(seeds[t.Item1]);
            foreach (var (op, a, b, value) in t.Item2)
            {
                if (data.Count == 0) { data.Add(value); continue; }
                int i = a % data.Count, j = b % data.Count;
                switch (op)
                {
                    case 0: data[i] = value; break;
                    case 1: data.RemoveRange(i, data.Count - i); break;
                    case 2: data.Insert(i, value); break;
                    case 3: data.InsertRange(i, data.GetRange(Math.Min(i, j), Math.Abs(i - j))); break;
                    default: data[i] ^= (byte)(1 << (b % 8)); break;
                }
            }
            return data.ToArray();
        });
        return Gen.Frequency((8, mutated), (1, random));
    }
}
