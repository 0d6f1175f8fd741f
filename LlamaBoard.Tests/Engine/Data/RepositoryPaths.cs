namespace LlamaBoard.Tests.Engine.Data;

/// <summary>Paths inside the repository checkout the tests run from.</summary>
public static class RepositoryPaths
{
    /// <summary>The folder holding LlamaBoard.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The project's demo dataset folder.</summary>
    public static string DemoData => Path.Combine(Root, "data");

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LlamaBoard.sln"))) return dir.FullName;
        throw new InvalidOperationException("LlamaBoard.sln not found above " + AppContext.BaseDirectory);
    }
}
