using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace LlamaBoard.Engine.Hub;

/// <summary>The checksum a downloaded file must have.</summary>
internal abstract record ExpectedHash(string Hex)
{
    public abstract IncrementalHash Start(long size);

    /// <summary>sha256 of the content: what the hub gives for LFS/Xet files and ModelScope for all files.</summary>
    public sealed record Sha256(string Value) : ExpectedHash(Value)
    {
        public override IncrementalHash Start(long size) => IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    /// <summary>git's blob id, sha1("blob {size}\0" + content): what the hub gives for files stored in git.</summary>
    public sealed record GitBlob(string Value) : ExpectedHash(Value)
    {
        public override IncrementalHash Start(long size)
        {
            var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            hash.AppendData(Encoding.ASCII.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"blob {size}\0")));
            return hash;
        }
    }

    public string Name => this is Sha256 ? "sha256" : "git blob sha1";
}

/// <summary>One file to bring into the cache.</summary>
/// <param name="Url">Where to GET it (a CDN location is fine: redirects are followed, without the token).</param>
/// <param name="Destination">The final file; the transfer writes <c>{Destination}.incomplete</c> (or <see cref="Partial"/>) first.</param>
/// <param name="Size">The size the hub announced.</param>
/// <param name="Hash">The checksum to verify, when known.</param>
/// <param name="DisplayPath">The repository path, for progress and messages.</param>
/// <param name="Partial">Where the partial file lives; defaults to <c>{Destination}.incomplete</c>.</param>
internal sealed record BlobRequest(Uri Url, string Destination, long Size, ExpectedHash? Hash, string DisplayPath, string? Partial = null)
{
    public string PartialPath => Partial ?? Destination + ".incomplete";
}

/// <summary>
/// Downloads one file into the cache the way huggingface_hub's <c>http_get</c> does, plus checks:
/// the bytes go to a <c>.incomplete</c> file that a later run resumes with <c>Range: bytes={have}-</c>
/// (a 200 answer to a Range request restarts from zero); a connection that breaks or stays silent for
/// <see cref="HubOptions.ReadTimeout"/> is resumed up to <see cref="HubOptions.MaxRetries"/> times; the finished file
/// must have the announced size and checksum before it is renamed into place. A size or checksum mismatch deletes
/// the partial file (its bytes cannot be trusted); cancellation and network failures keep it for the next run.
/// </summary>
internal sealed class BlobTransfer(HubHttp http, HubOptions options)
{
    const int BufferSize = 1 << 20;

    public async Task DownloadAsync(BlobRequest blob, ProgressTracker progress,
        Func<HttpResponseMessage, Task<HubException>> onError, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(blob.PartialPath)!);
        progress.FileStarted(blob.DisplayPath);
        try
        {
            using var hash = blob.Hash is { } expected ? new Hasher(expected, blob.Size) : null;
            var file = OpenPartial(blob.PartialPath);
            await using (file.ConfigureAwait(false))
            {
                if (file.Length > blob.Size) file.SetLength(0); // Longer than the file can be: not a prefix of it.
                if (hash is not null && file.Length > 0) await HashPrefixAsync(file, file.Length, hash, ct).ConfigureAwait(false);
                progress.Add(file.Length, fromNetwork: false);

                // The partial file is the truth about what we have: every attempt continues from its length.
                int failures = 0;
                while (file.Length < blob.Size)
                {
                    try
                    {
                        await TransferAsync(blob, file, hash, progress, onError, ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (IsTransient(e, ct))
                    {
                        await file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        if (++failures > options.MaxRetries)
                            throw new HubException(HubErrorKind.NoNetwork,
                                $"The transfer of {blob.DisplayPath} broke off at {DownloadProgress.FormatBytes(file.Length)} of " +
                                $"{DownloadProgress.FormatBytes(blob.Size)} and {options.MaxRetries} resumptions failed ({Reason(e)}). " +
                                "Run the download again: it resumes where it stopped.", e);
                        await Task.Delay(options.RetryDelay, ct).ConfigureAwait(false);
                    }
                }
                await FlushToDiskAsync(file, blob).ConfigureAwait(false);
            }

            if (hash is not null && blob.Hash is { } announced && hash.Finish() is var actual &&
                !string.Equals(actual, announced.Hex, StringComparison.OrdinalIgnoreCase))
                throw new HubException(HubErrorKind.ChecksumMismatch,
                    $"{blob.DisplayPath} arrived damaged: its {announced.Name} is {actual} but the hub announced {announced.Hex}. " +
                    "The partial file was deleted; run the download again. If it happens again, a proxy or the mirror in HF_ENDPOINT is altering files.");
        }
        catch (HubException e) when (e.Kind == HubErrorKind.ChecksumMismatch)
        {
            // Bytes that fail the check cannot be resumed from; the file is closed by now, so it can go.
            File.Delete(blob.PartialPath);
            throw;
        }
        File.Move(blob.PartialPath, blob.Destination, overwrite: true);
    }

    /// <summary>One GET from the end of the partial file on, until the file is complete or the transfer breaks.</summary>
    async Task TransferAsync(BlobRequest blob, FileStream file, Hasher? hash, ProgressTracker progress,
        Func<HttpResponseMessage, Task<HubException>> onError, CancellationToken ct)
    {
        long from = file.Length;
        using var response = await http.SendAsync(HttpMethod.Get, blob.Url, RedirectPolicy.Any, options.ReadTimeout,
            r =>
            {
                r.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");
                if (from > 0) r.Headers.Range = new RangeHeaderValue(from, null);
            }, ct).ConfigureAwait(false);

        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable || (from > 0 && response.StatusCode == HttpStatusCode.OK) ||
            (response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From != from))
        {
            // The server cannot (or will not) continue where we stopped: start over from byte 0.
            file.SetLength(0);
            hash?.Reset();
            progress.Rewind(from);
            if (response.StatusCode != HttpStatusCode.OK) throw new RestartException();
            from = 0;
        }
        if (!response.IsSuccessStatusCode)
        {
            if ((int)response.StatusCode is 408 or 429 or >= 500) throw new TransientStatusException((int)response.StatusCode);
            throw await onError(response).ConfigureAwait(false);
        }

        var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            file.Seek(from, SeekOrigin.Begin);
            var buffer = new byte[BufferSize];
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
            long at = from;
            while (true)
            {
                silence.CancelAfter(options.ReadTimeout);
                int n = await body.ReadAsync(buffer, silence.Token).ConfigureAwait(false);
                if (n == 0) break;
                if (at + n > blob.Size)
                    throw new HubException(HubErrorKind.ChecksumMismatch,
                        $"{blob.DisplayPath} is larger than the {DownloadProgress.FormatBytes(blob.Size)} the hub announced; the partial file was deleted. " +
                        "Run the download again; if it repeats, a proxy or mirror is altering files.");
                try
                {
                    await file.WriteAsync(buffer.AsMemory(0, n), CancellationToken.None).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    throw DiskErrors.Translate(e, blob.PartialPath);
                }
                hash?.Append(buffer, n);
                at += n;
                progress.Add(n);
            }
            if (at < blob.Size) throw new EndOfStreamException($"the server closed the file after {at} of {blob.Size} bytes");
        }
    }

    static FileStream OpenPartial(string path)
    {
        try
        {
            // FileShare.None: a second writer (another process ignoring the lock) fails instead of interleaving bytes.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        }
        catch (IOException e)
        {
            throw DiskErrors.Translate(e, path);
        }
    }

    static async Task HashPrefixAsync(FileStream file, long length, Hasher hash, CancellationToken ct)
    {
        // A resumed transfer hashes the bytes it already has, so the final check covers the whole file.
        file.Seek(0, SeekOrigin.Begin);
        var buffer = new byte[BufferSize];
        long left = length;
        while (left > 0)
        {
            int n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct).ConfigureAwait(false);
            if (n == 0) break;
            hash.Append(buffer, n);
            left -= n;
        }
    }

    static async Task FlushToDiskAsync(FileStream file, BlobRequest blob)
    {
        try
        {
            await file.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }
        catch (IOException e)
        {
            throw DiskErrors.Translate(e, blob.PartialPath);
        }
        if (file.Length != blob.Size)
            throw new HubException(HubErrorKind.ChecksumMismatch,
                $"{blob.DisplayPath} has {file.Length} bytes but the hub announced {blob.Size}; run the download again.");
    }

    /// <summary>Failures worth resuming: broken or silent connections and passing server trouble — not cancellation.</summary>
    static bool IsTransient(Exception e, CancellationToken ct) => e switch
    {
        RestartException or TransientStatusException or EndOfStreamException => true,
        HubException h => h.Kind == HubErrorKind.NoNetwork,
        OperationCanceledException => !ct.IsCancellationRequested,
        HttpRequestException or HttpIOException => true,
        IOException io => !DiskErrors.IsDiskFull(io),
        _ => false,
    };

    static string Reason(Exception e) => e switch
    {
        OperationCanceledException => "no data arrived within the read timeout",
        TransientStatusException t => $"the server answered {t.Status}",
        _ => e.Message,
    };

    /// <summary>A running checksum that can start over when the server restarts a transfer from byte 0.</summary>
    sealed class Hasher(ExpectedHash expected, long size) : IDisposable
    {
        IncrementalHash hash = expected.Start(size);

        public void Append(byte[] buffer, int count) => hash.AppendData(buffer, 0, count);

        public void Reset()
        {
            hash.Dispose();
            hash = expected.Start(size);
        }

        public string Finish() => Convert.ToHexStringLower(hash.GetHashAndReset());

        public void Dispose() => hash.Dispose();
    }

    sealed class RestartException : Exception
    {
        public RestartException() : base("the server could not resume the transfer; starting over") { }
    }

    sealed class TransientStatusException(int status) : Exception($"the server answered {status}")
    {
        public int Status { get; } = status;
    }
}
