using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Tests.Engine.Configuration;

/// <summary>Helpers shared by the configuration tests.</summary>
internal static class ConfigTestKit
{
    /// <summary>Every key's value as text: two options are equal when their snapshots are.</summary>
    public static SortedDictionary<string, string> Snapshot(LlamaBoardOptions options) =>
        new(OptionRegistry.Keys.ToDictionary(k => k.Name, k => k.Support == OptionSupport.Ignored
            ? k.GetValue(options) is ConfigNode node ? node.Display : "<absent>"
            : k.Type.Format(k.GetValue(options)).Display), StringComparer.Ordinal);

    /// <summary>The repository root (the folder holding LlamaBoard.sln), found from the test's output folder.</summary>
    public static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "LlamaBoard.sln")))
                return folder.FullName;
        throw new InvalidOperationException("LlamaBoard.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The texts of the messages, errors and warnings alike.</summary>
    public static List<string> Texts(ValidationReport report) => report.Messages.Select(m => m.Text).ToList();

    /// <summary>A scratch folder removed on dispose.</summary>
    public sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("llamaboard-config-").FullName;
        public string File(string name, string text)
        {
            string path = System.IO.Path.Combine(Path, name);
            System.IO.File.WriteAllText(path, text);
            return path;
        }
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
