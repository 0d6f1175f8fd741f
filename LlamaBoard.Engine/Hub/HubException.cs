namespace LlamaBoard.Engine.Hub;

/// <summary>What went wrong with a hub request; the board and CLI choose their advice from it.</summary>
public enum HubErrorKind
{
    /// <summary>The request itself is malformed (bad repository id, bad pattern, bad option).</summary>
    InvalidRequest,
    /// <summary>The repository does not exist, or it is private and the token is missing or lacks access.</summary>
    RepositoryNotFound,
    /// <summary>The repository exists but the branch, tag or commit does not.</summary>
    RevisionNotFound,
    /// <summary>A file listed by the hub could not be found when downloading it.</summary>
    FileNotFound,
    /// <summary>The repository is gated: its licence must be accepted on the hub and a token set.</summary>
    Gated,
    /// <summary>The token was refused (invalid, expired, or without read permission).</summary>
    Unauthorized,
    /// <summary>The hub could not be reached (name resolution, refused connection, timeout).</summary>
    NoNetwork,
    /// <summary>Offline mode (or no network) and the cache does not hold what was asked for.</summary>
    NotInCache,
    /// <summary>The disk holding the cache is full.</summary>
    DiskFull,
    /// <summary>The cache folder cannot be written (permissions, read-only file system).</summary>
    CacheNotWritable,
    /// <summary>A downloaded file's size or checksum differs from what the hub announced.</summary>
    ChecksumMismatch,
    /// <summary>The hub answered with a server error or something that is not its API.</summary>
    ServerError,
    /// <summary>The repository holds no weights LlamaBoard can read (e.g. only pytorch_model.bin).</summary>
    NoUsableFiles,
}

/// <summary>
/// A hub download failed. <see cref="Exception.Message"/> says what happened and what to do, in one or two
/// sentences fit for the CLI and the board; <see cref="Kind"/> lets callers react without parsing text.
/// </summary>
public sealed class HubException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HubException(HubErrorKind kind, string message, Exception? inner = null) : base(message, inner) => Kind = kind;

    /// <summary>The category of the failure.</summary>
    public HubErrorKind Kind { get; }

    /// <summary>The HTTP status code of the answer that caused it, when there was one.</summary>
    public int? StatusCode { get; init; }
}
