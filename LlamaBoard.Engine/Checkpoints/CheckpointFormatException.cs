namespace LlamaBoard.Engine.Checkpoints;

/// <summary>
/// A checkpoint file is malformed: truncated, corrupt, or inconsistent with its index. The message names the file
/// and, where one is involved, the tensor, so the user knows which download to repeat.
/// </summary>
public sealed class CheckpointFormatException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> already names file and tensor.</summary>
    public CheckpointFormatException(string filePath, string? tensorName, string message, Exception? inner = null)
        : base(message, inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    /// <summary>The file that is malformed.</summary>
    public string FilePath { get; }

    /// <summary>The tensor the problem concerns, or null when it concerns the whole file.</summary>
    public string? TensorName { get; }

    internal static CheckpointFormatException For(string path, string? tensor, string problem, Exception? inner = null)
    {
        string where = tensor is null ? $"'{path}'" : $"'{path}', tensor '{tensor}'";
        return new CheckpointFormatException(path, tensor,
            $"Checkpoint file {where}: {problem} The file is damaged or incomplete; download or save it again.", inner);
    }
}
