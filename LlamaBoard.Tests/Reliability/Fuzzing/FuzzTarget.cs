namespace LlamaBoard.Tests.Reliability.Fuzzing;

/// <summary>A seed file for a target: the valid bytes that mutations start from.</summary>
/// <param name="Name">Where the seed comes from (for reports).</param>
/// <param name="Data">The file's bytes.</param>
/// <param name="Kind">Its structure, which picks the structure-aware mutations.</param>
internal sealed record FuzzSeed(string Name, byte[] Data, SeedKind Kind);

/// <summary>
/// One parser under fuzzing. Each case writes a mutated seed to <see cref="FileName"/> inside a case folder that
/// <see cref="Prepare"/> filled with valid companion files once, then calls <see cref="Parse"/> with that folder.
/// The case passes when <see cref="Parse"/> returns, or throws one of <see cref="Allowed"/> (the parser's documented
/// error types) with a message that names the file; anything else is a defect.
/// </summary>
internal sealed record FuzzTarget
{
    /// <summary>Short name, also the case folder's name.</summary>
    public required string Name { get; init; }

    /// <summary>The name the mutated file is written under, inside the case folder.</summary>
    public required string FileName { get; init; }

    /// <summary>Valid inputs to mutate.</summary>
    public required IReadOnlyList<FuzzSeed> Seeds { get; init; }

    /// <summary>Reads the file (and uses the result as its callers would) given the case folder.</summary>
    public required Action<string> Parse { get; init; }

    /// <summary>The documented error types; subclasses count.</summary>
    public required IReadOnlyList<Type> Allowed { get; init; }

    /// <summary>Writes the valid companion files into the case folder (once per run).</summary>
    public Action<string> Prepare { get; init; } = _ => { };

    /// <summary>
    /// What a rejection's message must contain so the user knows which file to fix; defaults to
    /// <see cref="FileName"/>. Null turns the check off (messages about a config go into a report instead).
    /// </summary>
    public string? MessageMustName { get; init; } = "";

    /// <summary>Allocation allowed for every case regardless of input size (bytes).</summary>
    public long AllocationAllowance { get; init; } = 64L << 20;

    /// <summary>Allocation allowed per byte of input, on top of <see cref="AllocationAllowance"/>.</summary>
    public long AllocationPerInputByte { get; init; } = 64;

    /// <summary>How long one case may take before it counts as a hang.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>The allocation bound for an input of <paramref name="length"/> bytes.</summary>
    public long AllocationBound(long length) => AllocationAllowance + AllocationPerInputByte * length;

    /// <summary>The text a rejection must contain, or null.</summary>
    public string? RequiredInMessage => MessageMustName is "" ? FileName : MessageMustName;
}
