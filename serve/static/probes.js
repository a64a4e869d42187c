// The five probes of the study this project grew out of: each shows one way in which base,
// instruct and reasoning models differ. One click fills the prompt and runs the comparison.

export const PROBES = [
  {
    label: "No instruction",
    // A bare list: the base model continues it, the others guess what is wanted.
    prompt: "苹果、香蕉、橘子、胡萝卜",
  },
  {
    label: "结论： summary",
    // Instruction following: a one-sentence summary that must start with the given prefix.
    prompt:
      "用一句话总结下面这段话，回答必须以“结论：”开头。\n\n" +
      "近年来，越来越多的城市开始建设共享单车系统。共享单车方便了市民短途出行，减少了汽车尾气排放，" +
      "但也带来了乱停乱放、车辆损坏和押金难退等问题，需要政府和企业共同管理。",
  },
  {
    label: "9.11 vs 9.8",
    // A known trap: the correct answer is 9.8.
    prompt: "9.11和9.8哪个更大？",
  },
  {
    label: "Vague request",
    // Too vague to act on: does the model ask what "那个东西" is?
    prompt: "帮我整理一下那个东西，明天要用。",
  },
  {
    label: "CET-4 plan",
    // A long structured answer: weeks, phases, skills.
    prompt: "我三个月后要考大学英语四级（CET-4），请帮我制定一份按周安排的备考计划。",
  },
];
