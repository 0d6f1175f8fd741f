namespace LlamaBoard.Engine.Data;

/// <summary>The steps of building a dataset, in order.</summary>
public enum DataPhase
{
    /// <summary>Reading and converting records.</summary>
    Reading,
    /// <summary>Tokenizing examples through the template.</summary>
    Tokenizing,
    /// <summary>Packing samples into rows / cutting pre-training blocks.</summary>
    Packing,
    /// <summary>Writing the tokenized cache.</summary>
    WritingCache,
    /// <summary>Loading the tokenized cache instead of preprocessing.</summary>
    LoadingCache,
    /// <summary>Finished.</summary>
    Done,
}

/// <summary>A progress event of dataset preparation.</summary>
/// <param name="Phase">The step.</param>
/// <param name="Dataset">The dataset being read, during <see cref="DataPhase.Reading"/>.</param>
/// <param name="Done">Items finished in this step (records, examples).</param>
/// <param name="Total">Items in this step when known.</param>
public sealed record DataProgress(DataPhase Phase, string? Dataset, long Done, long? Total);
