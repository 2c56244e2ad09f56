using Assp.Config.Registry;

namespace Assp.Config.Files;

/// <summary>Creates an ASSP base folder: assp.cfg with every option at its default, and the folders and list files the defaults name.</summary>
public static class BaseFolder
{
    /// <summary>The folders ASSP keeps under its base (collections, logs, data).</summary>
    private static readonly string[] s_folderOptions =
        ["spamlog", "notspamlog", "incomingOkMail", "discarded", "viruslog", "correctedspam", "correctednotspam", "resendmail"];

    /// <summary>Returns the paths it created (empty when the folder was complete).</summary>
    public static List<string> Initialize(string baseDirectory, OptionRegistry registry, IReadOnlyDictionary<string, string>? initialValues = null)
    {
        var created = new List<string>();
        var root = Path.GetFullPath(baseDirectory);
        CreateDir(root, created);
        foreach (var sub in new[] { "files", "logs", "certs", "pb", "notes", "tmp", "data" }) CreateDir(Path.Combine(root, sub), created);
        foreach (var name in s_folderOptions)
        {
            var def = registry.Find(name);
            if (def is not null && def.Default.Length > 0) CreateDir(Path.Combine(root, def.Default), created);
        }
        var cfgPath = Path.Combine(root, "assp.cfg");
        if (!File.Exists(cfgPath))
        {
            var file = AsspConfigFile.CreateEmpty();
            foreach (var o in registry.Options)
            {
                var value = initialValues is not null && initialValues.TryGetValue(o.Name, out var v) ? v : o.Default;
                file.Set(o.Name, value);
            }
            file.Save(cfgPath);
            created.Add(cfgPath);
        }
        // Default values name list files (file:files/...); create them empty so the lists load without warnings.
        foreach (var o in registry.Options)
        {
            if (!o.Kind.IsList()) continue;
            var path = ConfigLoader.FileReference(o.Default);
            if (path is null) continue;
            var full = Path.GetFullPath(Path.Combine(root, path));
            if (File.Exists(full) || !full.StartsWith(root, StringComparison.Ordinal)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, $"# {o.Name}: one entry per line; lines starting with # or ; are comments.\n");
            created.Add(full);
        }
        return created;
    }

    private static void CreateDir(string path, List<string> created)
    {
        if (Directory.Exists(path)) return;
        Directory.CreateDirectory(path);
        created.Add(path);
    }
}
