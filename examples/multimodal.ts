/**
 * Seed 004 "多模态" / seed 003 "Multi Modal": images in prompt functions (`ImagePath`, or
 * `Image.loadImageFromPath` in the body) and in chatOai JSON content (Byzer-LLM's `{image, text}`
 * list, or OpenAI's own part list).
 */
import { type ByzerLLM, Image, ImagePath, prompt } from '../src/index.js';

export async function main(visionLlm: ByzerLLM, imagePath: string) {
  const whatInImage = prompt<{ image_path: ImagePath }>(`
    {{ image_path }}
    这个图片里有什么？
  `);
  const withImagePath = await whatInImage.withLlm(visionLlm).run({ image_path: new ImagePath(imagePath) });

  const whatInImageFromBody = prompt<{ image_path: string }>(
    `
    {{ image }}
    这个图片里有什么？
    `,
    { body: ({ image_path }) => ({ image: Image.loadImageFromPath(image_path) }) },
  );
  const withBody = await whatInImageFromBody.withLlm(visionLlm).run({ image_path: imagePath });

  const image = Image.loadImageFromPath(imagePath);
  const [seedJson] = await visionLlm.chatOai({
    conversations: [{ role: 'user', content: JSON.stringify([{ image, text: '这个图片里有什么？' }]) }],
  });
  const [openAIJson] = await visionLlm.chatOai({
    conversations: [
      {
        role: 'user',
        content: JSON.stringify([
          { type: 'image_url', image_url: { url: image, detail: 'high' } },
          { text: '这个图片里有什么？', type: 'text' },
        ]),
      },
    ],
  });
  // Seed 003's Qwen-VL style: the image as base64 in llm_config.
  const imageContent = image.slice(image.indexOf(',') + 1);
  const [viaLlmConfig] = await visionLlm.chatOai({
    conversations: [{ role: 'user', content: '这是什么' }],
    llmConfig: { image: imageContent },
  });
  return {
    withImagePath,
    withBody,
    seedJson: seedJson!.output,
    openAIJson: openAIJson!.output,
    viaLlmConfig: viaLlmConfig!.output,
  };
}

/**
 * Speech synthesis, speech-to-text and image generation with Byzer-LLM's JSON content (a model whose
 * engine offers those tasks, e.g. `saas.model=tts-1`). Returns base64 audio / text / base64 image.
 */
export async function audioAndImages(
  llm: { tts: ByzerLLM; stt: ByzerLLM; imageGen: ByzerLLM },
  audioDataUrl: string,
) {
  const [speech] = await llm.tts.chatOai({
    conversations: [
      {
        role: 'user',
        content: JSON.stringify({ input: 'hello, open_tts', voice: 'alloy', response_format: 'mp3' }),
      },
    ],
  });
  const [text] = await llm.stt.chatOai({
    conversations: [{ role: 'user', content: JSON.stringify({ audio: audioDataUrl }) }],
  });
  const [picture] = await llm.imageGen.chatOai({
    conversations: [
      {
        role: 'user',
        content: JSON.stringify({ input: 'a white siamese cat', size: '1024x1024', quality: 'standard' }),
      },
    ],
  });
  return { speechBase64: speech!.output, transcript: text!.output, imageBase64: picture!.output };
}
