using LlamaBoard.Engine.Training.Schedulers;

namespace LlamaBoard.Tests.Engine.Training;

/// <summary>Schedule multipliers against values computed by hand from transformers' formulas.</summary>
public class LearningRateSchedulesTests
{
    static double At(string name, long step, long total = 100, long warmup = 10, double baseRate = 1e-4) =>
        LearningRateSchedules.Get(name)(step, total, warmup, baseRate);

    [Theory]
    [InlineData("linear", 0, 0.0)]
    [InlineData("linear", 5, 0.5)]
    [InlineData("linear", 10, 1.0)]
    [InlineData("linear", 55, 0.5)]
    [InlineData("linear", 100, 0.0)]
    [InlineData("cosine", 10, 1.0)]
    [InlineData("cosine", 55, 0.5)]
    [InlineData("cosine", 100, 0.0)]
    [InlineData("constant", 0, 1.0)]
    [InlineData("constant_with_warmup", 3, 0.3)]
    [InlineData("constant_with_warmup", 70, 1.0)]
    [InlineData("cosine_with_restarts", 55, 0.5)]
    [InlineData("inverse_sqrt", 5, 0.5)]
    [InlineData("inverse_sqrt", 40, 0.5)]   // 1/sqrt(40/10)
    public void Multipliers_follow_the_hugging_face_formulas(string name, long step, double expected) =>
        Assert.Equal(expected, At(name, step), 9);

    [Fact]
    public void Cosine_at_a_quarter_of_the_decay_is_cos_squared()
    {
        // progress 0.25 → 0.5·(1 + cos(π/4))
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI * 0.25)), At("cosine", 25, total: 100, warmup: 0), 12);
    }

    [Fact]
    public void Polynomial_ends_at_the_absolute_end_rate()
    {
        Assert.Equal(1.0, At("polynomial", 10), 12);
        Assert.Equal(1e-7 / 1e-4, At("polynomial", 100), 12);
        Assert.Equal(((1e-4 - 1e-7) * 0.5 + 1e-7) / 1e-4, At("polynomial", 55), 12);
    }

    [Fact]
    public void Warmup_steps_win_over_the_ratio_and_the_ratio_rounds_up()
    {
        Assert.Equal(7, LearningRateSchedules.WarmupSteps(100, 7, 0.5));
        Assert.Equal(11, LearningRateSchedules.WarmupSteps(101, 0, 0.1)); // ceil(10.1)
        Assert.Equal(0, LearningRateSchedules.WarmupSteps(100, 0, 0.0));
    }

    [Fact]
    public void Unknown_schedule_lists_the_known_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => LearningRateSchedules.Get("cosine_annealing"));
        Assert.Contains("cosine_with_restarts", error.Message);
        Assert.Contains("'cosine_annealing'", error.Message);
    }
}
