using System.Runtime.InteropServices;
using LlamaBoard.Engine.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace LlamaBoard.Engine.Checkpoints;

/// <summary>
/// An open safetensors file whose data is read through a memory mapping (<c>torch.from_file</c>, private and
/// read-only, so the file is never modified and needs no write permission). Tensors are converted straight into
/// their destination's dtype and device in chunks, and each chunk's mapped pages are dropped from the resident
/// set right after, so loading never holds the file and the weights in memory at the same time.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Bytes copied per step: large enough for full memory bandwidth, small enough to bound extra memory.</summary>
    internal const long ChunkBytes = 64L << 20;

    readonly Dictionary<ScalarType, Tensor> mappings = [];
    bool disposed;

    SafetensorsFile(SafetensorsHeader header) => Header = header;

    /// <summary>Opens <paramref name="path"/> and validates its header; the data is mapped on first use.</summary>
    /// <exception cref="CheckpointFormatException">The header is damaged (see <see cref="SafetensorsHeader"/>).</exception>
    public static SafetensorsFile Open(string path)
    {
        TorchRuntime.EnsureInitialized();
        return new SafetensorsFile(SafetensorsHeader.Read(path));
    }

    /// <summary>The validated header.</summary>
    public SafetensorsHeader Header { get; }

    /// <summary>The file's path.</summary>
    public string Path => Header.Path;

    /// <summary>Header entry of <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    public SafetensorsTensorInfo Info(string name) =>
        Header.ByName.TryGetValue(name, out var info) ? info
            : throw new KeyNotFoundException($"Checkpoint file '{Path}' has no tensor '{name}'.");

    /// <summary>
    /// Reads tensor <paramref name="name"/> into a new tensor of <paramref name="dtype"/> (default: the stored type)
    /// on <paramref name="device"/> (default: CPU). The caller owns the result.
    /// </summary>
    public Tensor Read(string name, ScalarType? dtype = null, Device? device = null)
    {
        var info = Info(name);
        var stored = TorchTypeOf(info);
        var result = empty(info.Shape, dtype: dtype ?? stored, device: device ?? CPU);
        try
        {
            CopyTo(name, result);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Copies elements of tensor <paramref name="name"/>, starting at flat element <paramref name="elementOffset"/>,
    /// into <paramref name="destination"/> (contiguous; any dtype and device), converting on the way. The number
    /// of elements copied is the destination's; a row slice of a fused weight is an offset plus a smaller
    /// destination.
    /// </summary>
    public void CopyTo(string name, Tensor destination, long elementOffset = 0)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var info = Info(name);
        var stored = TorchTypeOf(info);
        long count = destination.numel();
        if (elementOffset < 0 || elementOffset + count > info.ElementCount)
            throw new ArgumentOutOfRangeException(nameof(elementOffset),
                $"Checkpoint file '{Path}', tensor '{name}': elements [{elementOffset}, {elementOffset + count}) " +
                $"requested, but it has {info.ElementCount}.");
        if (!destination.is_contiguous())
            throw new ArgumentException("The destination tensor must be contiguous.", nameof(destination));
        if (count == 0) return;

        int size = info.DType.ElementSize;
        long fileByte = Header.DataStart + info.Begin + elementOffset * size;
        using var flat = destination.view(-1);
        using var _ = no_grad();

        // A typed mapping can only address elements at multiples of their size; the writers we know align every
        // tensor, but the format does not require it, so unaligned tensors take the (slower) staged path.
        if (fileByte % size == 0)
            CopyMapped(Mapping(stored, size), fileByte / size, flat, count, size);
        else
            CopyStaged(fileByte, stored, flat, count, size);
    }

    void CopyMapped(Tensor mapping, long firstElement, Tensor flat, long count, int size)
    {
        long step = Math.Max(1, ChunkBytes / size);
        for (long done = 0; done < count; done += step)
        {
            long n = Math.Min(step, count - done);
            using var source = mapping.narrow(0, firstElement + done, n);
            using var target = flat.narrow(0, done, n);
            var (address, length) = AddressOf(source, n * size);
            MappedPages.Populate(address, length);
            if (target.device_type == DeviceType.CPU)
            {
                var (targetAddress, targetLength) = AddressOf(target, n * target.element_size());
                MappedPages.PopulateForWrite(targetAddress, targetLength);
            }
            target.copy_(source);
            MappedPages.Release(address, length);
        }
    }

    void CopyStaged(long fileByte, ScalarType stored, Tensor flat, long count, int size)
    {
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        stream.Position = fileByte;
        long step = Math.Max(1, ChunkBytes / size);
        using var staging = empty(Math.Min(step, count), dtype: stored);
        for (long done = 0; done < count; done += step)
        {
            long n = Math.Min(step, count - done);
            using var part = staging.narrow(0, 0, n);
            stream.ReadExactly(part.bytes);
            using var target = flat.narrow(0, done, n);
            target.copy_(part);
        }
    }

    static unsafe (IntPtr Address, long Length) AddressOf(Tensor contiguousCpu, long length)
    {
        // The first byte's address (Tensor.bytes would refuse tensors over 2 GiB, so take a one-element view).
        using var flat = contiguousCpu.view(-1);
        using var first = flat.narrow(0, 0, 1);
        fixed (byte* pointer = first.bytes)
            return ((IntPtr)pointer, length);
    }

    Tensor Mapping(ScalarType type, int size)
    {
        if (mappings.TryGetValue(type, out var mapping)) return mapping;
        try
        {
            // Private (shared: false) = copy-on-write and opened read-only: works on read-only files and can
            // never write to the checkpoint.
            mapping = from_file(Path, shared: false, size: Header.FileLength / size, dtype: type).DetachFromDisposeScope();
            // Read-ahead of the whole file into the page cache (not into this process), so a cold disk streams
            // while the first tensors are converted.
            var (address, length) = AddressOf(mapping, mapping.numel() * size);
            MappedPages.Prefetch(address, length);
        }
        catch (ExternalException e)
        {
            throw new IOException($"Checkpoint file '{Path}' could not be memory-mapped: {e.Message.Split('\n')[0]}", e);
        }
        mappings[type] = mapping;
        return mapping;
    }

    ScalarType TorchTypeOf(SafetensorsTensorInfo info) =>
        info.DType.TorchType ?? throw new NotSupportedException(
            $"Checkpoint file '{Path}', tensor '{info.Name}': dtype {info.DType.Name} is valid safetensors, but " +
            "TorchSharp cannot hold it; convert the checkpoint to BF16, F16 or F32.");

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var mapping in mappings.Values) mapping.Dispose();
        mappings.Clear();
    }
}
