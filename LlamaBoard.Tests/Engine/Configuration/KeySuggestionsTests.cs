using LlamaBoard.Engine.Configuration;

namespace LlamaBoard.Tests.Engine.Configuration;

/// <summary>Edit distance and "did you mean".</summary>
public class KeySuggestionsTests
{
    [Theory]
    [InlineData("lora_rank", "lora_rank", 0)]
    [InlineData("lora_rnak", "lora_rank", 1)]
    [InlineData("lora_rak", "lora_rank", 1)]
    [InlineData("lora_rankk", "lora_rank", 1)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    public void Distance_counts_edits_with_swaps_as_one(string a, string b, int expected) =>
        Assert.Equal(expected, KeySuggestions.Distance(a, b));

    [Theory]
    [InlineData("Lora_Rank", "lora_rank")]
    [InlineData("learnin_rate", "learning_rate")]
    [InlineData("evaluation_strategy", "evaluation_strategy")]
    [InlineData("per_device_train_batchsize", "per_device_train_batch_size")]
    [InlineData("gradient_accumulation", null)]
    [InlineData("xyz", null)]
    public void Closest_known_key(string typed, string? expected) =>
        Assert.Equal(expected, KeySuggestions.Closest(typed, OptionRegistry.AllNames));
}
