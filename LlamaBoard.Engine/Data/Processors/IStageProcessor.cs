namespace LlamaBoard.Engine.Data.Processors;

/// <summary>
/// Turns examples into token sequences for one stage. <see cref="Encode"/> handles one example and may run on
/// many threads at once; <see cref="Finish"/> then sees every encoded sample in order (packing, pre-training blocks).
/// </summary>
public interface IStageProcessor
{
    /// <summary>The stage served.</summary>
    DataStage Stage { get; }

    /// <summary>Encodes example <paramref name="index"/> of <paramref name="examples"/> (KTO pairs it with its neighbour).</summary>
    /// <exception cref="DatasetException">The example cannot be encoded (malformed tool call, …).</exception>
    TokenizedSample Encode(IReadOnlyList<DataExample> examples, int index);

    /// <summary>Builds the final samples from the encoded ones.</summary>
    List<TokenizedSample> Finish(IReadOnlyList<TokenizedSample> encoded);
}
