using System.Text.Json.Nodes;
using LlamaBoard.Engine.Models;
using static TorchSharp.torch;

namespace LlamaBoard.Tests.Engine.Models;

/// <summary>
/// Released models' config.json files (their architecture keys, as published on the hub) parse into the right
/// flags, and the model they describe has exactly the published parameter count.
/// </summary>
public class HfConfigTests
{
    public HfConfigTests() => Torch.EnsureReady();

    const string Qwen25 = """
        {"architectures":["Qwen2ForCausalLM"],"attention_dropout":0.0,"bos_token_id":151643,"eos_token_id":151645,
         "hidden_act":"silu","hidden_size":896,"initializer_range":0.02,"intermediate_size":4864,
         "max_position_embeddings":32768,"max_window_layers":21,"model_type":"qwen2","num_attention_heads":14,
         "num_hidden_layers":24,"num_key_value_heads":2,"rms_norm_eps":1e-06,"rope_theta":1000000.0,
         "sliding_window":32768,"tie_word_embeddings":true,"torch_dtype":"bfloat16","transformers_version":"4.43.1",
         "use_cache":true,"use_sliding_window":false,"vocab_size":151936}
        """;

    const string Llama32 = """
        {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":128000,
         "eos_token_id":[128001,128008,128009],"head_dim":64,"hidden_act":"silu","hidden_size":2048,
         "initializer_range":0.02,"intermediate_size":8192,"max_position_embeddings":131072,"mlp_bias":false,
         "model_type":"llama","num_attention_heads":32,"num_hidden_layers":16,"num_key_value_heads":8,
         "pretraining_tp":1,"rms_norm_eps":1e-05,"rope_scaling":{"factor":32.0,"high_freq_factor":4.0,
         "low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},"rope_theta":500000.0,
         "tie_word_embeddings":true,"torch_dtype":"bfloat16","transformers_version":"4.45.0.dev0","use_cache":true,
         "vocab_size":128256}
        """;

    const string Gemma2 = """
        {"architectures":["Gemma2ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
         "attn_logit_softcapping":50.0,"bos_token_id":2,"cache_implementation":"hybrid","eos_token_id":[1,107],
         "final_logit_softcapping":30.0,"head_dim":256,"hidden_act":"gelu_pytorch_tanh",
         "hidden_activation":"gelu_pytorch_tanh","hidden_size":2304,"initializer_range":0.02,"intermediate_size":9216,
         "max_position_embeddings":8192,"model_type":"gemma2","num_attention_heads":8,"num_hidden_layers":26,
         "num_key_value_heads":4,"pad_token_id":0,"query_pre_attn_scalar":256,"rms_norm_eps":1e-06,
         "rope_theta":10000.0,"sliding_window":4096,"torch_dtype":"bfloat16","transformers_version":"4.42.4",
         "use_cache":true,"vocab_size":256000}
        """;

    const string Phi3Mini = """
        {"architectures":["Phi3ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":1,
         "embd_pdrop":0.0,"eos_token_id":32000,"hidden_act":"silu","hidden_size":3072,"initializer_range":0.02,
         "intermediate_size":8192,"max_position_embeddings":4096,"model_type":"phi3","num_attention_heads":32,
         "num_hidden_layers":32,"num_key_value_heads":32,"original_max_position_embeddings":4096,"pad_token_id":32000,
         "resid_pdrop":0.0,"rms_norm_eps":1e-05,"rope_scaling":null,"rope_theta":10000.0,"sliding_window":2047,
         "tie_word_embeddings":false,"torch_dtype":"bfloat16","transformers_version":"4.40.2","use_cache":true,
         "vocab_size":32064}
        """;

    const string Mistral03 = """
        {"architectures":["MistralForCausalLM"],"attention_dropout":0.0,"bos_token_id":1,"eos_token_id":2,
         "hidden_act":"silu","hidden_size":4096,"initializer_range":0.02,"intermediate_size":14336,
         "max_position_embeddings":32768,"model_type":"mistral","num_attention_heads":32,"num_hidden_layers":32,
         "num_key_value_heads":8,"rms_norm_eps":1e-05,"rope_theta":1000000.0,"sliding_window":null,
         "tie_word_embeddings":false,"torch_dtype":"bfloat16","transformers_version":"4.42.0.dev0","use_cache":true,
         "vocab_size":32768}
        """;

    const string Qwen3 = """
        {"architectures":["Qwen3ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":151643,
         "eos_token_id":151645,"head_dim":128,"hidden_act":"silu","hidden_size":1024,"initializer_range":0.02,
         "intermediate_size":3072,"max_position_embeddings":40960,"max_window_layers":28,"model_type":"qwen3",
         "num_attention_heads":16,"num_hidden_layers":28,"num_key_value_heads":8,"rms_norm_eps":1e-06,
         "rope_scaling":null,"rope_theta":1000000,"sliding_window":null,"tie_word_embeddings":true,
         "torch_dtype":"bfloat16","transformers_version":"4.51.0","use_cache":true,"use_sliding_window":false,
         "vocab_size":151936}
        """;

    const string Gemma3OneB = """
        {"architectures":["Gemma3ForCausalLM"],"attn_logit_softcapping":null,"bos_token_id":2,
         "cache_implementation":"hybrid","eos_token_id":[1,106],"final_logit_softcapping":null,"head_dim":256,
         "hidden_activation":"gelu_pytorch_tanh","hidden_size":1152,"initializer_range":0.02,"intermediate_size":6912,
         "max_position_embeddings":32768,"model_type":"gemma3_text","num_attention_heads":4,"num_hidden_layers":26,
         "num_key_value_heads":1,"pad_token_id":0,"query_pre_attn_scalar":256,"rms_norm_eps":1e-06,
         "rope_local_base_freq":10000,"rope_scaling":null,"rope_theta":1000000,"sliding_window":512,
         "sliding_window_pattern":6,"torch_dtype":"bfloat16","transformers_version":"4.50.0.dev0","use_cache":true,
         "vocab_size":262144}
        """;

    // Gemma 3 4B (multimodal): text_config lists only what differs from Gemma3TextConfig's defaults.
    const string Gemma3FourB = """
        {"architectures":["Gemma3ForConditionalGeneration"],"boi_token_index":255999,"eoi_token_index":256000,
         "eos_token_id":[1,106],"image_token_index":262144,"initializer_range":0.02,"mm_tokens_per_image":256,
         "model_type":"gemma3","text_config":{"hidden_size":2560,"intermediate_size":10240,"model_type":"gemma3_text",
         "num_hidden_layers":34,"rope_scaling":{"factor":8.0,"rope_type":"linear"},"sliding_window":1024},
         "torch_dtype":"bfloat16","transformers_version":"4.50.0.dev0",
         "vision_config":{"hidden_size":1152,"model_type":"siglip_vision_model"}}
        """;

    static ModelConfig Parse(string json) => HfConfigReader.Parse(JsonNode.Parse(json)!.AsObject());

    static long ParameterCount(ModelConfig config)
    {
        using var model = DecoderModel.Create(config, ScalarType.BFloat16, META); // shapes only, no memory
        return model.ParameterCount;
    }

    [Theory]
    [InlineData(Qwen25, 494_032_768L)]
    [InlineData(Llama32, 1_235_814_400L)]
    [InlineData(Gemma2, 2_614_341_888L)]
    [InlineData(Phi3Mini, 3_821_079_552L)]
    [InlineData(Mistral03, 7_248_023_552L)]
    [InlineData(Qwen3, 596_049_920L)]
    [InlineData(Gemma3OneB, 999_885_952L)]
    public void Released_configs_describe_models_with_the_published_parameter_counts(string json, long parameters)
    {
        var config = Parse(json);
        Assert.Equal(ScalarType.BFloat16, config.DType);
        Assert.Equal(parameters, ParameterCount(config));
    }

    [Fact]
    public void Qwen25_has_qkv_bias_tied_embeddings_and_no_sliding_window()
    {
        var c = Parse(Qwen25);
        Assert.True(c.QkvBias);
        Assert.False(c.OutputBias);
        Assert.True(c.TieWordEmbeddings);
        Assert.All(c.LayerTypes, t => Assert.Equal(AttentionKind.Full, t));
        Assert.Equal(64, c.HeadDim);
        Assert.Equal(1_000_000, c.Rope.Theta);
        Assert.Equal([151645], c.EosTokenIds);
    }

    [Fact]
    public void Llama32_reads_llama3_rope_scaling_and_several_eos_ids()
    {
        var c = Parse(Llama32);
        Assert.Equal("llama3", c.Rope.Type);
        Assert.Equal(32, c.Rope.Factor);
        Assert.Equal(8192, c.Rope.OriginalMaxPositionEmbeddings);
        Assert.Equal(4, c.Rope.HighFreqFactor);
        Assert.Equal([128001, 128008, 128009], c.EosTokenIds);
        Assert.Equal(8, c.NumKvHeads);
        Assert.Equal("silu", c.Activation);
    }

    [Fact]
    public void Gemma2_has_sandwich_norms_softcapping_pre_attention_scalar_and_alternating_windows()
    {
        var c = Parse(Gemma2);
        Assert.True(c.SandwichNorms && c.NormUnitOffset && c.ScaleEmbeddings && c.TieWordEmbeddings);
        Assert.Equal(50.0, c.AttentionLogitSoftcap);
        Assert.Equal(30.0, c.FinalLogitSoftcap);
        Assert.Equal(1 / 16.0, c.AttentionScale);
        Assert.Equal("gelu_pytorch_tanh", c.Activation);
        Assert.Equal(4096, c.SlidingWindow);
        Assert.Equal(AttentionKind.Sliding, c.LayerTypes[0]);
        Assert.Equal(AttentionKind.Full, c.LayerTypes[1]);
        Assert.Equal(13, c.LayerTypes.Count(t => t == AttentionKind.Sliding));
    }

    [Fact]
    public void Gemma3_has_qk_norms_five_local_layers_per_global_one_and_a_local_rope_base()
    {
        var c = Parse(Gemma3OneB);
        Assert.True(c.QkNorm);
        Assert.Null(c.AttentionLogitSoftcap);
        Assert.Equal(512, c.SlidingWindow);
        Assert.Equal([5, 11, 17, 23], Enumerable.Range(0, 26).Where(i => c.LayerTypes[i] == AttentionKind.Full));
        Assert.Equal(1_000_000, c.Rope.Theta);
        Assert.Equal(10_000, c.LocalRope!.Theta);
        Assert.Equal(c.LocalRope, c.RopeOf(0));
        Assert.Equal(c.Rope, c.RopeOf(5));
    }

    [Fact]
    public void Gemma3_multimodal_fills_its_text_config_from_transformers_defaults()
    {
        var c = Parse(Gemma3FourB);
        Assert.Equal("gemma3_text", c.ModelType);
        Assert.Equal(2560, c.HiddenSize);
        Assert.Equal(8, c.NumHeads);          // defaults of Gemma3TextConfig
        Assert.Equal(4, c.NumKvHeads);
        Assert.Equal(256, c.HeadDim);
        Assert.Equal(262208, c.VocabSize);
        Assert.Equal("linear", c.Rope.Type);
        Assert.Equal(8, c.Rope.Factor);
        Assert.Equal("default", c.LocalRope!.Type); // scaling applies to global layers only
        Assert.Equal(ScalarType.BFloat16, c.DType);
        Assert.Equal([1, 106], c.EosTokenIds);
        Assert.Equal(3_880_263_168L, ParameterCount(c)); // 4B minus the ~0.42B vision tower
    }

    [Fact]
    public void Phi3_applies_its_sliding_window_to_every_layer_and_mistral_03_to_none()
    {
        var phi = Parse(Phi3Mini);
        Assert.All(phi.LayerTypes, t => Assert.Equal(AttentionKind.Sliding, t));
        Assert.Equal(2047, phi.SlidingWindow);
        Assert.Equal(96, phi.HeadDim);
        var mistral = Parse(Mistral03);
        Assert.All(mistral.LayerTypes, t => Assert.Equal(AttentionKind.Full, t));
        Assert.Null(mistral.SlidingWindow);
    }

    [Fact]
    public void Transformers_5_rope_parameters_and_layer_types_are_read()
    {
        var json = JsonNode.Parse(Gemma3OneB)!.AsObject();
        json.Remove("rope_theta");
        json.Remove("rope_local_base_freq");
        json.Remove("sliding_window_pattern");
        json["rope_parameters"] = JsonNode.Parse("""
            {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}
            """);
        json["layer_types"] = new JsonArray(Enumerable.Range(0, 26)
            .Select(i => (JsonNode)((i + 1) % 6 == 0 ? "full_attention" : "sliding_attention")).ToArray());
        json["dtype"] = "float16";
        json.Remove("torch_dtype");
        var c = HfConfigReader.Parse(json);
        Assert.Equal("linear", c.Rope.Type);
        Assert.Equal(1_000_000, c.Rope.Theta);
        Assert.Equal(10_000, c.LocalRope!.Theta);
        Assert.Equal(AttentionKind.Full, c.LayerTypes[5]);
        Assert.Equal(ScalarType.Float16, c.DType);

        // Saving writes the transformers 4 spelling, which both versions read, and keeps the dtype key in use.
        var written = HfConfigWriter.ToJsonObject(c);
        Assert.False(written.ContainsKey("rope_parameters"));
        Assert.Equal("float16", written["dtype"]!.GetValue<string>());
        var reread = HfConfigReader.Parse(written);
        Assert.Equal(c.Rope with { }, reread.Rope with { });
        Assert.Equal(c.LocalRope.Theta, reread.LocalRope!.Theta);
        Assert.Equal(c.LayerTypes, reread.LayerTypes);
    }

    [Theory]
    [InlineData(Qwen25)]
    [InlineData(Llama32)]
    [InlineData(Gemma2)]
    [InlineData(Phi3Mini)]
    [InlineData(Mistral03)]
    [InlineData(Qwen3)]
    [InlineData(Gemma3OneB)]
    public void Writing_a_released_config_back_keeps_every_key_and_value(string json)
    {
        var original = JsonNode.Parse(json)!.AsObject();
        var written = HfConfigWriter.ToJsonObject(Parse(json));
        foreach (var (key, value) in original)
        {
            Assert.True(written.ContainsKey(key), $"'{key}' was dropped");
            var a = value is null ? "null" : JsonNode.Parse(value.ToJsonString())!.ToJsonString();
            var b = written[key] is null ? "null" : written[key]!.ToJsonString();
            // Numbers may change spelling (1000000 → 1000000.0) but not value.
            if (value is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number)
                Assert.Equal(double.Parse(a, System.Globalization.CultureInfo.InvariantCulture),
                             double.Parse(b, System.Globalization.CultureInfo.InvariantCulture));
            else if (value is JsonObject)
                Assert.Equal(HfConfigReader.Parse(original).Rope with { }, HfConfigReader.Parse(written).Rope with { });
            else
                Assert.Equal(a, b);
        }
    }
}
