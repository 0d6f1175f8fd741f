using System.Reflection;
using TorchSharp;

namespace LlamaBoard.Engine.Runtime;

/// <summary>
/// The one door to libtorch: every entry point (CLI, web app, engine services, tests) calls
/// <see cref="EnsureInitialized"/> before it touches a tensor, so that loading problems surface once, early,
/// and in plain words.
/// </summary>
public static class TorchRuntime
{
    static readonly Lock Gate = new();
    static volatile bool initialized;
    static TorchRuntimeException? failure;

    /// <summary>Loads libtorch (repairing the libstdc++ gap on older Linux) and initialises the CPU backend.</summary>
    /// <exception cref="TorchRuntimeException">libtorch cannot load; the message names cause and remedy.</exception>
    public static void EnsureInitialized()
    {
        if (initialized) return;
        lock (Gate)
        {
            if (initialized) return;
            if (failure is not null) throw failure;
            try
            {
                NativeTorchLoader.LoadBridge();
                torch.InitializeDeviceType(DeviceType.CPU);
                initialized = true;
            }
            catch (TorchRuntimeException e)
            {
                failure = e;
                throw;
            }
            catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
            {
                // TorchSharp's own failure carries a page-long trace; keep its first line as the detail.
                var inner = e.InnerException ?? e;
                failure = NativeTorchLoader.Explain(inner.Message.Split('\n')[0]);
                throw failure;
            }
        }
    }

    /// <summary>True when libtorch loads; otherwise <paramref name="problem"/> says why.</summary>
    public static bool TryInitialize(out string? problem)
    {
        try
        {
            EnsureInitialized();
            problem = null;
            return true;
        }
        catch (TorchRuntimeException e)
        {
            problem = e.Message;
            return false;
        }
    }

    /// <summary>How the native bridge was loaded (and whether it needed the libstdc++ repair).</summary>
    public static string LoadNote => NativeTorchLoader.LoadNote;

    /// <summary>The TorchSharp package version, for example 0.107.0.</summary>
    public static string TorchSharpVersion =>
        typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The libtorch version TorchSharp was built against, for example 2.10.0.0.</summary>
    public static string LibTorchVersion => torch.__version__;

    /// <summary>True when this build can use CUDA and a CUDA device is present.</summary>
    public static bool IsCudaAvailable
    {
        get
        {
            EnsureInitialized();
            try { return torch.cuda.is_available(); }
            catch (Exception e) when (e is NotSupportedException or InvalidOperationException or DllNotFoundException or EntryPointNotFoundException)
            {
                return false;
            }
        }
    }

    /// <summary>Number of visible CUDA devices (0 on CPU builds).</summary>
    public static int CudaDeviceCount => IsCudaAvailable ? torch.cuda.device_count() : 0;

    /// <summary>Intra-op threads libtorch uses for CPU kernels.</summary>
    public static int Threads
    {
        get { EnsureInitialized(); return torch.get_num_threads(); }
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            EnsureInitialized();
            torch.set_num_threads(value);
        }
    }
}
