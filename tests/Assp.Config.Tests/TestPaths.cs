namespace Assp.Config.Tests;

internal static class TestPaths
{
    public static string Data(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "TestData", .. parts]);

    /// <summary>A fresh folder under the system temp folder, removed when disposed.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "assp-test-" + Guid.NewGuid().ToString("N"));

        public TempDir() => Directory.CreateDirectory(Path);

        public string File(string relative, string? content = null)
        {
            var full = System.IO.Path.Combine(Path, relative);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            if (content is not null) System.IO.File.WriteAllText(full, content);
            return full;
        }

        /// <summary>Copies a folder from TestData into this one.</summary>
        public TempDir CopyFrom(string testDataFolder)
        {
            var src = Data(testDataFolder);
            foreach (var f in Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories))
            {
                var target = System.IO.Path.Combine(Path, System.IO.Path.GetRelativePath(src, f));
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
                System.IO.File.Copy(f, target);
            }
            return this;
        }

        public void Dispose()
        {
            try { Directory.Delete(Path, true); } catch (IOException) { }
        }
    }
}
