using System.Runtime.InteropServices;
using System.Runtime.Loader;
using TorchSharp;

namespace LlamaBoard.Engine.Runtime;

/// <summary>
/// Loads TorchSharp's native bridge (<c>LibTorchSharp</c>) before TorchSharp itself does, so that
/// (1) the Debian 12 / Ubuntu 22.04 libstdc++ gap is repaired without root and without a manual step, and
/// (2) a library that still cannot load is reported in one plain sentence instead of TorchSharp's long trace.
/// </summary>
/// <remarks>
/// The repair (see <see cref="ElfVersionNeeds"/>) is attempted only after a normal load failed because of a
/// missing <c>GLIBCXX_*</c> version, and only for needs that a link-time marker alone uses. The patched file is
/// written next to the original (new file, then rename: the original may be a hard link into the NuGet cache,
/// which must stay untouched); when that folder is read-only it goes to a per-user cache folder instead and is
/// handed to the runtime through <see cref="AssemblyLoadContext.ResolvingUnmanagedDll"/>.
/// </remarks>
internal static class NativeTorchLoader
{
    const string BridgeName = "LibTorchSharp";

    /// <summary>What happened while loading, for the environment report.</summary>
    internal static string LoadNote { get; private set; } = "";

    /// <summary>Loads the native bridge or throws <see cref="TorchRuntimeException"/> with a plain explanation.</summary>
    internal static void LoadBridge()
    {
        if (!OperatingSystem.IsLinux())
        {
            // Windows and macOS builds ship libraries that load as they are; TorchSharp's own probing suffices.
            return;
        }

        string bridge = FindBridge() ?? throw new TorchRuntimeException(
            "libtorch is missing: libLibTorchSharp.so was not found next to TorchSharp.dll in " +
            $"{TorchSharpFolder}. Run `dotnet build` (the TorchSharp-cpu package brings libtorch), and check that " +
            "the NuGet restore finished.", "libLibTorchSharp.so not found");

        string? firstError = TryLoad(bridge);
        if (firstError is null)
        {
            LoadNote = $"loaded {bridge}";
            return;
        }

        if (!firstError.Contains("GLIBCXX_", StringComparison.Ordinal) && !firstError.Contains("CXXABI_", StringComparison.Ordinal))
            throw Explain(firstError);

        var repairable = ElfVersionNeeds.MarkerOnlyNeeds(ElfVersionNeeds.Read(bridge));
        if (repairable.Count == 0)
            throw Explain(firstError);

        byte[] patched = ElfVersionNeeds.WithWeakNeeds(File.ReadAllBytes(bridge), repairable);
        string repairedVersions = string.Join(", ", repairable.Select(n => n.VersionName));
        string? repaired = WriteBeside(bridge, patched) ?? WriteToUserCache(bridge, patched);
        if (repaired is null)
            throw Explain(firstError);

        string? secondError = TryLoad(repaired);
        if (secondError is not null)
            throw Explain(secondError);

        if (!string.Equals(repaired, bridge, StringComparison.Ordinal))
        {
            // TorchSharp and its DllImports ask for "LibTorchSharp" by name; point them at the repaired copy.
            IntPtr handle = NativeLibrary.Load(repaired);
            AssemblyLoadContext.Default.ResolvingUnmanagedDll += (_, name) =>
                name is BridgeName or "libLibTorchSharp" or "libLibTorchSharp.so" ? handle : IntPtr.Zero;
        }
        LoadNote = $"loaded {repaired} (marked the unused {repairedVersions} need weak: this system's libstdc++ is older than the one TorchSharp was built with)";
    }

    static string TorchSharpFolder => Path.GetDirectoryName(typeof(torch).Assembly.Location) ?? AppContext.BaseDirectory;

    static string? FindBridge()
    {
        string[] candidates =
        [
            Path.Combine(TorchSharpFolder, "libLibTorchSharp.so"),
            Path.Combine(TorchSharpFolder, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"),
            Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"),
        ];
        return candidates.FirstOrDefault(File.Exists);
    }

    /// <returns>null on success, else the loader's own error text.</returns>
    static string? TryLoad(string path)
    {
        try
        {
            NativeLibrary.Load(path);
            return null;
        }
        catch (DllNotFoundException e)
        {
            return e.Message;
        }
        catch (BadImageFormatException e)
        {
            return e.Message;
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    static string? WriteBeside(string original, byte[] patched)
    {
        string temporary = original + $".{Environment.ProcessId}.tmp";
        try
        {
            File.WriteAllBytes(temporary, patched);
            File.SetUnixFileMode(temporary, File.GetUnixFileMode(original));
            File.Move(temporary, original, overwrite: true);
            return original;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            return null;
        }
    }

    static string? WriteToUserCache(string original, byte[] patched)
    {
        try
        {
            // One folder per original library (keyed by its size and time) holding the repaired bridge and
            // links to the libraries it needs, because the bridge finds them through RUNPATH=$ORIGIN.
            var info = new FileInfo(original);
            string root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg
                ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            string folder = Path.Combine(root, "llamaboard", "native", $"{info.Length}-{info.LastWriteTimeUtc.Ticks}");
            Directory.CreateDirectory(folder);
            foreach (var library in Directory.EnumerateFiles(info.DirectoryName!, "lib*.so*"))
            {
                string link = Path.Combine(folder, Path.GetFileName(library));
                if (library == original || File.Exists(link)) continue;
                File.CreateSymbolicLink(link, library);
            }
            string target = Path.Combine(folder, info.Name);
            string temporary = target + $".{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, patched);
            File.Move(temporary, target, overwrite: true);
            return target;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { /* best effort */ }
    }

    /// <summary>Turns a loader error into a cause and a remedy a user can act on.</summary>
    internal static TorchRuntimeException Explain(string loaderError)
    {
        // .NET wraps dlerror() in advice about strace and LD_DEBUG; keep only the loader's own words.
        const string Advice = "LD_DEBUG environment variable:";
        int adviceAt = loaderError.LastIndexOf(Advice, StringComparison.Ordinal);
        string detail = (adviceAt >= 0 ? loaderError[(adviceAt + Advice.Length)..] : loaderError).Trim();
        var version = System.Text.RegularExpressions.Regex.Match(loaderError, @"version `([A-Z]+_[0-9.]+)' not found");
        if (version.Success && version.Groups[1].Value.StartsWith("GLIBCXX_", StringComparison.Ordinal))
            return new TorchRuntimeException(
                $"libtorch cannot load: this system's C++ runtime (libstdc++.so.6) is older than libtorch needs " +
                $"({version.Groups[1].Value}). Install a newer libstdc++ (GCC 13 or later, as on Debian 13 or " +
                "Ubuntu 24.04), or run LlamaBoard from its Docker image.", loaderError);
        if (version.Success && version.Groups[1].Value.StartsWith("GLIBC_", StringComparison.Ordinal))
            return new TorchRuntimeException(
                $"libtorch cannot load: this system's C library is older than libtorch needs ({version.Groups[1].Value}). " +
                "Use a newer Linux distribution (glibc 2.28 or later) or the Docker image.", loaderError);
        if (loaderError.Contains("cannot open shared object file", StringComparison.Ordinal))
            return new TorchRuntimeException(
                "libtorch cannot load: a library it needs is missing. Run `dotnet build` again so that the " +
                "TorchSharp-cpu package copies libtorch next to the application. Loader said: " + detail, loaderError);
        return new TorchRuntimeException("libtorch cannot load. Loader said: " + detail, loaderError);
    }
}

/// <summary>libtorch could not be loaded. <see cref="Exception.Message"/> names the cause and the remedy.</summary>
public sealed class TorchRuntimeException(string message, string loaderDetail) : Exception(message)
{
    /// <summary>The native loader's own words, for logs.</summary>
    public string LoaderDetail { get; } = loaderDetail;
}
